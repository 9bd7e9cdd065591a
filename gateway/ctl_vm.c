/* ctl_vm.c - placeholder (not committed). */
#include "config.h"
#include "ctl.h"
const struct ctl_cmd ctl_vm_cmds[] = { { NULL, NULL, NULL, NULL, NULL } };
