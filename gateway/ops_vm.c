/* ops_vm.c - placeholder (not committed). */
#include "config.h"
#include "gateway.h"
const struct op_ent fy_vm_ops[] = { { NULL, NULL } };
