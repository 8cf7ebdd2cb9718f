// The self-containment check is the build of its generated files; this
// program links them and exits 0.
int main() { return 0; }
