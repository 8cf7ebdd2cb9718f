#!/usr/bin/env python3
"""Sizes of the SDK's headers and of their classes, to keep both in check.

Prints the line count of every header under include/ (largest first) and the
largest classes: a class or struct counts from the line of its `class` or
`struct` keyword to the line of its closing brace (its declaration; the
out-of-line definitions in the implementation section are not part of it).
Generated headers (a "Generated" line among their first five) are listed but
marked, and left out of the goals.

usage: size_report.py [--root DIR] [--top N] [--all] [--check]
  --root DIR  the tree to measure (default: include/ next to tools/)
  --top N     how many headers and classes to list (default 5)
  --all       list every header and class
  --check     exit 1 when a hand-written header is over --max-header lines
              or a class over --max-class lines (defaults 500 and 400)
"""
import argparse
import pathlib
import re
import sys

GENERATED = re.compile(r"\bGenerated\b")
CLASS_KEY = re.compile(r"\b(class|struct)\s+([A-Za-z_]\w*)")


def blank(text: str) -> str:
    """The text with comments and string/char literals turned into spaces,
    newlines kept, so braces in them are not counted and line numbers hold."""
    out = []
    i, n = 0, len(text)

    def keep_lines(chunk: str) -> str:
        return "".join("\n" if c == "\n" else " " for c in chunk)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(keep_lines(text[i:j]))
            i = j
        elif c == "R" and i + 1 < n and text[i + 1] == '"' and (i == 0 or not (
                text[i - 1].isalnum() or text[i - 1] == "_")):
            open_paren = text.find("(", i + 2)
            delim = text[i + 2:open_paren]
            close = text.find(")" + delim + '"', open_paren)
            j = n if close < 0 else close + len(delim) + 2
            out.append(keep_lines(text[i:j]))
            i = j
        elif c in "\"'":
            # A digit separator (1'000) is no character literal.
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(c)
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(keep_lines(text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def classes(code: str):
    """(name, first line, last line) of every class or struct defined in `code`
    (already blanked), nested ones included."""
    found = []
    for m in CLASS_KEY.finditer(code):
        before = code[:m.start()].rstrip()
        if before.endswith("enum") or before.endswith("friend"):
            continue
        j = m.end()
        while j < len(code) and code[j].isspace():
            j += 1
        if code.startswith("final", j):
            j += len("final")
        # A base list runs to the body's brace; anything else that is not a
        # brace (';', '>', ',', another name) means no definition here.
        k = j
        while k < len(code) and code[k].isspace():
            k += 1
        if k < len(code) and code[k] == ":" and not code.startswith("::", k):
            k = code.find("{", k)
            semi = code.find(";", m.end())
            if k < 0 or (0 <= semi < k):
                continue
        elif k >= len(code) or code[k] != "{":
            continue
        depth, end = 0, k
        while end < len(code):
            if code[end] == "{":
                depth += 1
            elif code[end] == "}":
                depth -= 1
                if depth == 0:
                    break
            end += 1
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, end) + 1
        found.append((m.group(2), first, last))
    return found


def main() -> int:
    here = pathlib.Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=pathlib.Path, default=here.parent / "include")
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--max-header", type=int, default=500)
    ap.add_argument("--max-class", type=int, default=400)
    args = ap.parse_args()

    headers, all_classes = [], []
    for path in sorted(args.root.rglob("*.hpp")):
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(args.root).as_posix()
        generated = any(GENERATED.search(line) for line in text.splitlines()[:5])
        headers.append((text.count("\n"), rel, generated))
        if not generated:
            for name, first, last in classes(blank(text)):
                all_classes.append((last - first + 1, name, f"{rel}:{first}"))
    headers.sort(key=lambda h: (-h[0], h[1]))
    all_classes.sort(key=lambda c: (-c[0], c[2]))

    limit = None if args.all else args.top
    total = sum(h[0] for h in headers)
    print(f"headers: {len(headers)}, {total} lines (largest first)")
    for lines, rel, generated in headers[:limit]:
        print(f"  {lines:6d}  {rel}{'  (generated, exempt)' if generated else ''}")
    print(f"classes and structs: {len(all_classes)} (largest first)")
    for lines, name, where in all_classes[:limit]:
        print(f"  {lines:6d}  {name}  {where}")

    over = [f"header {rel}: {lines} lines > {args.max_header}"
            for lines, rel, generated in headers if not generated and lines > args.max_header]
    over += [f"class {name} ({where}): {lines} lines > {args.max_class}"
             for lines, name, where in all_classes if lines > args.max_class]
    if over:
        print("over the goals:")
        for line in over:
            print("  " + line)
    return 1 if args.check and over else 0


if __name__ == "__main__":
    sys.exit(main())
