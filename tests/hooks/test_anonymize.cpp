// Anonymisation of hook payloads: secrets, paths, credentials, caps.
#include <comfyvn_perf/hooks/anonymize.hpp>

#include <catch2/catch.hpp>

#include <cctype>
#include <random>
#include <string>
#include <vector>

namespace json = boost::json;
using comfyvn::perf::anonymize;
using comfyvn::perf::anonymize_text;
using comfyvn::perf::AnonymizeOptions;
using comfyvn::perf::is_secret_key;
using comfyvn::perf::path_token;

namespace {

// Length of a path token "<path:" 16 hex [".ext"] ">" starting at s[i], or 0.
std::size_t token_at(const std::string& s, std::size_t i, std::string* ext = nullptr) {
  if (s.compare(i, 6, "<path:") != 0) return 0;
  std::size_t j = i + 6;
  for (int k = 0; k < 16; ++k, ++j)
    if (j >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[j])) || std::isupper(s[j])) {
      return 0;
    }
  std::size_t e = j;
  if (e < s.size() && s[e] == '.') {
    ++e;
    while (e < s.size() && std::isalnum(static_cast<unsigned char>(s[e])) && e - j <= 8) ++e;
  }
  if (e >= s.size() || s[e] != '>') return 0;
  if (ext) *ext = s.substr(j, e - j);
  return e + 1 - i;
}

bool is_token(const std::string& s, const std::string& ext) {
  std::string found;
  return token_at(s, 0, &found) == s.size() && found == ext;
}

// Path tokens differ per process; compare them by shape only.
std::string normalised(const json::value& v) {
  const std::string s = json::serialize(v);
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::string ext;
    if (const std::size_t n = token_at(s, i, &ext)) {
      out += "<path:#" + ext + ">";
      i += n;
    } else {
      out += s[i++];
    }
  }
  return out;
}

struct Case {
  const char* name;
  const char* input;                   // JSON object
  const char* expected;                // JSON object, path tokens written as <path:#.ext>
  std::vector<std::string> forbidden;  // must not appear anywhere in the output
};

// Adversarial payloads: nesting, arrays, mixed-case keys, paths inside
// sentences, unicode, and ordinary values that must survive.
const std::vector<Case> kCases = {
    {"flat secret keys",
     R"({"token":"abc","password":"hunter2","user":"bob"})",
     R"({"token":"[redacted]","password":"[redacted]","user":"bob"})",
     {"abc", "hunter2"}},
    {"mixed-case and separated key spellings",
     R"({"API_KEY":"k1","ApiKey":"k2","x-api-key":"k3","SessionToken":"k4","AUTHORIZATION":"Bearer zzz"})",
     R"({"API_KEY":"[redacted]","ApiKey":"[redacted]","x-api-key":"[redacted]","SessionToken":"[redacted]","AUTHORIZATION":"[redacted]"})",
     {"k1", "k2", "k3", "k4", "zzz"}},
    {"secret words inside longer keys, any value type",
     R"({"db_password_hash":"h1","my_secret_value":1,"refresh_token":"r1","set-cookie":"c1","private_key":"p1","Credentials":{"a":"nested1"}})",
     R"({"db_password_hash":"[redacted]","my_secret_value":"[redacted]","refresh_token":"[redacted]","set-cookie":"[redacted]","private_key":"[redacted]","Credentials":"[redacted]"})",
     {"h1", "r1", "c1", "p1", "nested1"}},
    {"camelCase secret keys",
     R"({"apiKey":"a1","authToken":"a2","clientSecret":"a3","privateKey":"a4","accessKey":"a5","signing_key":"a6"})",
     R"({"apiKey":"[redacted]","authToken":"[redacted]","clientSecret":"[redacted]","privateKey":"[redacted]","accessKey":"[redacted]","signing_key":"[redacted]"})",
     {"a1", "a2", "a3", "a4", "a5", "a6"}},
    {"short secret words count as whole words",
     R"({"passwd":"x1","pwd":"x2","auth":"x3","Auth-Header":"x4","key":"x5","session_id":42})",
     R"({"passwd":"[redacted]","pwd":"[redacted]","auth":"[redacted]","Auth-Header":"[redacted]","key":"[redacted]","session_id":"[redacted]"})",
     {"x1", "x2", "x3", "x4", "x5"}},
    {"keys that merely look similar stay",
     R"({"keyframe":12,"author":"ann","keyboard":"qwerty","monkey_count":2,"frames":3})",
     R"({"keyframe":12,"author":"ann","keyboard":"qwerty","monkey_count":2,"frames":3})",
     {}},
    {"numbers, booleans and null pass unchanged",
     R"({"a":1,"b":-2.5,"c":true,"d":null,"e":18446744073709551615,"f":false,"g":1e300})",
     R"({"a":1,"b":-2.5E0,"c":true,"d":null,"e":18446744073709551615,"f":false,"g":1E300})",
     {}},
    {"ordinary words, ratios and slash terms pass unchanged",
     R"({"msg":"render step finished in 3.5ms","ratio":"render/step","frac":"1/2","mime":"image/png","units":"ms/frame","speed":"3.5ms/frame"})",
     R"({"msg":"render step finished in 3.5ms","ratio":"render/step","frac":"1/2","mime":"image/png","units":"ms/frame","speed":"3.5ms/frame"})",
     {}},
    {"more slash words that are not paths",
     R"({"v":"v1.2/beta","h":"HTTP/1.1","d":"2024/01/05","io":"and/or","ip":"TCP/IP","c":"c/c++","na":"N/A"})",
     R"({"v":"v1.2/beta","h":"HTTP/1.1","d":"2024/01/05","io":"and/or","ip":"TCP/IP","c":"c/c++","na":"N/A"})",
     {}},
    {"POSIX absolute path",
     R"({"file":"/home/alice/art/bg.png"})",
     R"({"file":"<path:#.png>"})",
     {"alice", "/home"}},
    {"path inside a sentence, sentence punctuation kept",
     R"({"msg":"loaded /home/alice/art/bg.png in 3 ms."})",
     R"({"msg":"loaded <path:#.png> in 3 ms."})",
     {"alice"}},
    {"relative paths with a file or three components",
     R"({"asset":"assets/bg/forest.webp","two":"bg/forest.webp","dir":"home/alice/notes"})",
     R"({"asset":"<path:#.webp>","two":"<path:#.webp>","dir":"<path:#>"})",
     {"forest", "alice"}},
    {"dot-relative paths",
     R"({"p":"./run.sh","q":"../secrets","r":".ssh/id_rsa"})",
     R"({"p":"<path:#.sh>","q":"<path:#>","r":"<path:#>"})",
     {"run.sh", "id_rsa", "secrets"}},
    {"home-relative paths",
     R"({"p":"~/notes.txt","q":"~alice/x","m":"Saved to ~/renders/final.mp4!"})",
     R"({"p":"<path:#.txt>","q":"<path:#>","m":"Saved to <path:#.mp4>!"})",
     {"notes", "alice", "final"}},
    {"Windows drive paths",
     R"({"p":"C:\\Users\\Bob\\Desktop\\scene.json","q":"d:/renders/out.EXR"})",
     R"({"p":"<path:#.json>","q":"<path:#.EXR>"})",
     {"Bob", "renders", "Users"}},
    {"Windows path with spaces is hashed piece by piece",
     R"({"p":"C:\\Program Files\\Game\\game.exe"})",
     R"({"p":"<path:#> <path:#.exe>"})",
     {"Game", "Program"}},
    {"UNC path",
     R"({"p":"\\\\fileserver\\share\\scene.ogg"})",
     R"({"p":"<path:#.ogg>"})",
     {"fileserver", "share"}},
    {"file URLs",
     R"({"u":"file:///home/alice/a.png","v":"FILE://C:/x/y.txt"})",
     R"({"u":"<path:#.png>","v":"<path:#.txt>"})",
     {"alice", "FILE", "x/y"}},
    {"web URL keeps scheme and host only",
     R"({"u":"https://bob:pw@cdn.example.com/u/alice/a.png?token=abc#frag"})",
     R"({"u":"https://[redacted]@cdn.example.com<path:#.png>"})",
     {"bob", "pw@", "alice", "abc", "frag"}},
    {"query string split on &",
     R"({"q":"user=bob&password=hunter2 id=7"})",
     R"({"q":"user=bob&password=[redacted] id=7"})",
     {"hunter2"}},
    {"Bearer token inside a header line",
     R"({"msg":"sent Authorization: Bearer abcdef123456 to server"})",
     R"({"msg":"sent Authorization: Bearer [redacted] to server"})",
     {"abcdef123456"}},
    {"lowercase bearer with a short credential",
     R"({"h":"bearer xyz.789-abc","k":"the bearer of news"})",
     R"({"h":"bearer [redacted]","k":"the bearer of news"})",
     {"xyz.789"}},
    {"Basic credentials after an Authorization name",
     R"({"line":"Authorization: Basic dXNlcjpwYXNz"})",
     R"({"line":"Authorization: Basic [redacted]"})",
     {"dXNlcjpwYXNz"}},
    {"JWT as a whole value",
     R"({"t":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpMeJf36"})",
     R"({"t":"[redacted]"})",
     {"eyJ", "sflKx"}},
    {"JWT inside a sentence",
     R"({"note":"header was eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc, expired"})",
     R"({"note":"header was [redacted], expired"})",
     {"eyJ"}},
    {"JWT cut after its payload",
     R"({"n":"value eyJhbGciOiJIUzI1NiJ9.eyJzdWIi end"})",
     R"({"n":"value [redacted] end"})",
     {"eyJ"}},
    {"secret name and colon in one word",
     R"({"m":"token:abc123 rest","n":"api_key=sk-live-123 ./run"})",
     R"({"m":"token:[redacted] rest","n":"api_key=[redacted] <path:#>"})",
     {"abc123", "sk-live"}},
    {"JSON text inside a string",
     R"({"raw":"{\"password\": \"hunter2\", \"n\": 3, \"file\": \"/etc/shadow\"}"})",
     R"({"raw":"{\"password\": \"[redacted]\", \"n\": 3, \"file\": \"<path:#>\"}"})",
     {"hunter2", "shadow"}},
    {"deep nesting with secrets and paths",
     R"({"a":{"b":{"c":[{"secret":"s1"},{"path":"/var/lib/x.db"},[["/opt/y.so"]]]}}})",
     R"({"a":{"b":{"c":[{"secret":"[redacted]"},{"path":"<path:#.db>"},[["<path:#.so>"]]]}}})",
     {"s1", "/var", "/opt"}},
    {"arrays of strings",
     R"({"files":["/a/b.png","rel/dir/c.jpg","plain",7,null]})",
     R"({"files":["<path:#.png>","<path:#.jpg>","plain",7,null]})",
     {"rel/dir", "/a/"}},
    {"paths as object keys",
     R"({"/home/alice/a.png":1,"by_file":{"C:\\Users\\bob\\b.txt":2}})",
     R"({"<path:#.png>":1,"by_file":{"<path:#.txt>":2}})",
     {"alice", "bob"}},
    {"secret key over an array",
     R"({"tokens":[1,2,3],"cookies":[{"a":"b"}]})",
     R"({"tokens":"[redacted]","cookies":"[redacted]"})",
     {}},
    {"unicode path and unicode words",
     R"({"p":"/home/jürgen/Bilder/schön.png","w":"naïve café 東京"})",
     R"({"p":"<path:#.png>","w":"naïve café 東京"})",
     {"jürgen", "schön", "Bilder"}},
    {"unicode sentence around a path",
     R"({"m":"ファイル /Users/山田/絵.png を読み込み"})",
     R"({"m":"ファイル <path:#.png> を読み込み"})",
     {"山田"}},
    {"quotes and parentheses around paths",
     R"x({"m":"open('/tmp/x.txt') failed (see \"/var/log/y.log\")"})x",
     R"x({"m":"open('<path:#.txt>') failed (see \"<path:#.log>\")"})x",
     {"/tmp", "/var"}},
    {"assignment to a path",
     R"({"m":"path=/srv/assets/a.png mode=fast"})",
     R"({"m":"path=<path:#.png> mode=fast"})",
     {"/srv"}},
    {"headers object",
     R"({"headers":{"Authorization":"Basic dXNlcjpwYXNz","Accept":"application/json","X-Api-Key":"abc"}})",
     R"({"headers":{"Authorization":"[redacted]","Accept":"application/json","X-Api-Key":"[redacted]"}})",
     {"dXNlcjpwYXNz", "abc"}},
    {"already anonymised text is left alone",
     R"({"m":"<path:0123456789abcdef.png> [redacted]"})",
     R"({"m":"<path:#.png> [redacted]"})",
     {}},
    {"empty keys, strings and containers",
     R"({"":"","e":[],"o":{}})",
     R"({"":"","e":[],"o":{}})",
     {}},
    {"drive written with a double slash",
     R"({"p":"C://Users/x/y"})",
     R"({"p":"<path:#>"})",
     {"Users"}},
};

}  // namespace

TEST_CASE("anonymisation table: at least 30 adversarial payloads", "[anonymize]") {
  REQUIRE(kCases.size() >= 30);
  for (const auto& c : kCases) {
    INFO(c.name);
    const json::value in = json::parse(c.input);
    REQUIRE(in.is_object());
    const json::object out = anonymize(in.as_object());
    CHECK(normalised(out) == normalised(json::parse(c.expected)));
    const std::string text = json::serialize(out);
    for (const auto& f : c.forbidden) {
      INFO("forbidden: " << f);
      CHECK(text.find(f) == std::string::npos);
    }
    // A second pass changes nothing: tokens and markers are stable.
    CHECK(normalised(anonymize(out)) == normalised(out));
  }
}

TEST_CASE("secret-looking keys", "[anonymize]") {
  for (const char* k :
       {"token",      "TOKEN",         "accessToken", "x-api-key",  "api.key",      "APIKey",
        "apikey",     "Authorization", "cookie",      "Set-Cookie", "sessionToken", "session",
        "credential", "private",       "PRIVATE_KEY", "password",   "Passwd",       "secret",
        "key",        "keys",          "auth",        "pwd",        "oauth_state",  "jwt"}) {
    INFO(k);
    CHECK(is_secret_key(k));
  }
  CHECK(is_secret_key(std::string(300, 'a') + "_token"));  // long names are read in full
  for (const char* k : {"name", "category", "duration_ms", "keyframe", "keyboard", "author",
                        "count", "path", "file", "", "-", "monkeys_seen", "frames"}) {
    INFO(k);
    CHECK_FALSE(is_secret_key(k));
  }
}

TEST_CASE("the same path gives the same token; tokens keep only the extension", "[anonymize]") {
  const std::string a = path_token("/home/alice/bg.png");
  CHECK(a == path_token("/home/alice/bg.png"));
  CHECK(a != path_token("/home/bob/bg.png"));
  CHECK(is_token(a, ".png"));
  CHECK(is_token(path_token("/etc/passwd"), ""));
  CHECK_FALSE(is_token(a, ""));
  // Inside text, the token is the same as on its own.
  CHECK(anonymize_text("see /home/alice/bg.png now") == "see " + a + " now");

  // A fixed salt makes tokens reproducible; another salt changes them.
  AnonymizeOptions s1;
  s1.salt = "one";
  AnonymizeOptions s2;
  s2.salt = "two";
  CHECK(path_token("/x/y.png", s1) == path_token("/x/y.png", s1));
  CHECK(path_token("/x/y.png", s1) != path_token("/x/y.png", s2));
  CHECK(path_token("/x/y.png", s1) != path_token("/x/y.png"));
}

TEST_CASE("SipHash-2-4 matches the reference vectors", "[anonymize]") {
  using comfyvn::perf::detail::siphash24;
  using comfyvn::perf::detail::SipKey;
  const SipKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  CHECK(siphash24(key, "") == 0x726fdb47dd0e0e31ull);
  CHECK(siphash24(key, std::string(1, '\0')) == 0x74f839c593dc67fdull);
  std::string fifteen;
  for (int i = 0; i < 15; ++i) fifteen.push_back(static_cast<char>(i));
  CHECK(siphash24(key, fifteen) == 0xa129ca6149be45e5ull);
}

TEST_CASE("deep and huge payloads are capped, not rejected", "[anonymize]") {
  SECTION("depth") {
    json::value v = json::string("/home/alice/leaf.png");
    for (int i = 0; i < 200; ++i) v = json::object{{"n", std::move(v)}};
    AnonymizeOptions o;
    o.max_depth = 5;
    const json::object out = anonymize(v.as_object(), o);
    const json::value* cur = &out.at("n");
    int depth = 1;
    while (cur->is_object()) {
      cur = &cur->as_object().at("n");
      ++depth;
    }
    CHECK(depth == 5);
    CHECK(cur->as_string() == "[depth limit]");
  }
  SECTION("string length, cut on a UTF-8 boundary") {
    std::string big;
    for (int i = 0; i < 50000; ++i) big += "ü";
    AnonymizeOptions o;
    o.max_string_bytes = 101;  // odd: the cut would split a two-byte letter
    const json::object out = anonymize(json::object{{"s", big}}, o);
    const std::string s(out.at("s").as_string());
    const std::string marker = "\u2026[truncated]";
    REQUIRE(s.size() > marker.size());
    CHECK(s.size() <= 101 + marker.size());
    CHECK(s.compare(s.size() - marker.size(), marker.size(), marker) == 0);
    CHECK(s.compare(0, 100, big, 0, 100) == 0);
    CHECK(s.size() - marker.size() == 100);
  }
  SECTION("a path in a long string is still hashed") {
    const std::string s = std::string(3000, 'a') + " /home/alice/x.png";
    const std::string out = anonymize_text(s);
    CHECK(out.find("alice") == std::string::npos);
  }
  SECTION("items per container and values per payload") {
    json::array a;
    for (int i = 0; i < 50; ++i) a.push_back(i);
    json::object o;
    for (int i = 0; i < 50; ++i) o[std::to_string(i)] = i;
    AnonymizeOptions opt;
    opt.max_items = 10;
    const json::object out = anonymize(json::object{{"a", a}, {"o", o}}, opt);
    const auto& oa = out.at("a").as_array();
    REQUIRE(oa.size() == 11);
    CHECK(oa[9].as_int64() == 9);
    CHECK(oa[10].as_string() == "[truncated 40 items]");
    const auto& oo = out.at("o").as_object();
    CHECK(oo.size() == 11);
    CHECK(oo.at("[truncated]").to_number<int>() == 40);

    AnonymizeOptions few;
    few.max_values = 5;
    const json::object small = anonymize(json::object{{"a", a}}, few);
    CHECK(small.at("a").as_array().size() == 5);  // 4 values + marker
  }
}

TEST_CASE("arbitrary bytes never throw and never leave a path behind", "[anonymize]") {
  std::mt19937 rng(12345);
  const std::string alphabet = "abc/\\:=.~ eyJ\"'&?#@\x80\xc3\xa9\xff";
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const int n = static_cast<int>(rng() % 64);
    for (int i = 0; i < n; ++i) s.push_back(alphabet[rng() % alphabet.size()]);
    s += " /home/secretuser/file.png";
    std::string out;
    REQUIRE_NOTHROW(out = anonymize_text(s));
    INFO(s);
    CHECK(out.find("secretuser") == std::string::npos);
  }
}
