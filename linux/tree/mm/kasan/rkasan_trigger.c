// SPDX-License-Identifier: GPL-2.0
/*
 * Triggers KASAN reports on request, for end-to-end tests of the report
 * policy (kasan.fault=, kasan_multi_shot) that the KUnit suite cannot cover:
 * the suite turns multi-shot reporting on for its own run.
 *
 * insmod rkasan_trigger.ko bugs=rw makes one out-of-bounds read, then one
 * out-of-bounds write, each one byte past a 16-byte kmalloc() object.
 */

#define pr_fmt(fmt) "rkasan_trigger: " fmt

#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/slab.h>

static char *bugs = "r";
module_param(bugs, charp, 0444);
MODULE_PARM_DESC(bugs, "one letter per bug, in order: r = out-of-bounds read, w = out-of-bounds write");

static int __init rkasan_trigger_init(void)
{
	const char *bug;

	for (bug = bugs; *bug; bug++) {
		size_t size = 16;
		char *ptr;

		if (*bug != 'r' && *bug != 'w') {
			pr_err("unknown bug '%c'\n", *bug);
			return -EINVAL;
		}
		ptr = kmalloc(size, GFP_KERNEL);
		if (!ptr)
			return -ENOMEM;
		OPTIMIZER_HIDE_VAR(ptr);
		OPTIMIZER_HIDE_VAR(size);
		if (*bug == 'r') {
			pr_info("out-of-bounds read\n");
			READ_ONCE(ptr[size]);
		} else {
			pr_info("out-of-bounds write\n");
			WRITE_ONCE(ptr[size], 'x');
		}
		kfree(ptr);
	}
	pr_info("done\n");
	return 0;
}
module_init(rkasan_trigger_init);

MODULE_DESCRIPTION("Triggers KASAN reports on request");
MODULE_LICENSE("GPL");
