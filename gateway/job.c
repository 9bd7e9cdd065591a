/* job.c - placeholder. */
#include "config.h"
#include "gateway.h"
const struct op_ent fy_job_ops[] = { { NULL, NULL } };
int jobs_init(struct site *s, struct fy_error *e) { (void)s; (void)e; return 0; }
void jobs_fini(struct site *s) { (void)s; }
