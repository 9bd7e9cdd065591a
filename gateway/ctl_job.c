/* ctl_job.c - placeholder. */
#include "config.h"
#include "ctl.h"
const struct ctl_cmd ctl_job_cmds[] = { { NULL, NULL, NULL, NULL, NULL } };
