/* qmp.c - placeholder (not committed). */
#include "config.h"
#include "qmp.h"
