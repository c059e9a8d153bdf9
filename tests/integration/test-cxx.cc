// SPDX-License-Identifier: LGPL-2.1-or-later
// The public headers compile as C++ and the library links from C++.
#include <uslab.h>

#include <cstdio>
#include <cstring>

struct point {
	int x, y;
};

int main()
{
	struct kmem_cache *s = kmem_cache_create("cxx-points", sizeof(point), 0, SLAB_NO_MERGE, nullptr);
	if (!s)
		return 1;
	point *p = static_cast<point *>(kmem_cache_zalloc(s, GFP_KERNEL));
	char *name = kstrdup("c++", GFP_KERNEL);
	bool ok = p && p->x == 0 && name && std::strcmp(name, "c++") == 0 && ksize(name) >= 4;
	kfree(name);
	kmem_cache_free(s, p);
	ok = ok && uslab_cache_validate(s) == 0 && uslab_cache_destroy(s) == 0;
	std::printf("%s\n", ok ? "c++: ok" : "c++: FAILED");
	return ok ? 0 : 1;
}
