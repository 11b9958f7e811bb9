// names_prog.cpp — a C++ program whose allocations go through wrappers, for
// the names a report shows (test_names.py): demangled functions, operator
// new and xmalloc folded into their callers, a wrapper of its own that
// --alloc-fn folds, and frames without a symbol once stripped.
#include <cstdio>
#include <cstdlib>
#include <vector>

extern "C" __attribute__((noinline)) void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

namespace app {
struct Widget {
    char payload[40];
};

__attribute__((noinline)) Widget *make_widget()
{
    return new Widget();
}

// A pool of this program's own: a wrapper that only --alloc-fn knows.
__attribute__((noinline)) void *pool_get(size_t n)
{
    return xmalloc(n);
}
} // namespace app

static std::vector<void *> kept;

__attribute__((noinline)) static void fill_table()
{
    for (int i = 0; i < 100; i++)
        kept.push_back(app::pool_get(64));
}

int main()
{
    kept.reserve(2000);
    for (int i = 0; i < 1000; i++)
        kept.push_back(app::make_widget());
    fill_table();
    std::printf("names: %zu kept\n", kept.size());
    return 0; // kept: still reachable at exit
}
