/* memproxy ctl: the ops command line (docs/ctl.md). It speaks the admin API
 * of a running memproxy over HTTP (status, users, export and import,
 * compaction, reload) and checks configuration files offline. It links core
 * and storage, never the proxy library: it is a client of the process, not
 * a part of it. */
#ifndef MP_TOOLS_CTL_MAIN_H
#define MP_TOOLS_CTL_MAIN_H

/* The exit statuses of every command (docs/ctl.md, "Exit codes"). */
enum mp_ctl_exit {
    MP_CTL_OK = 0,          /* done */
    MP_CTL_USAGE = 1,       /* bad command line, or an invalid configuration */
    MP_CTL_UNREACHABLE = 2, /* the admin API could not be reached (connect, timeout) */
    MP_CTL_REFUSED = 3,     /* the token was refused (401) or the admin API is disabled */
    MP_CTL_NOTFOUND = 4,    /* no such user (or key, or process) */
    MP_CTL_FAILED = 5       /* any other error answer, or a malformed one */
};

/* Runs "ctl ARGS...": argv[0] is "ctl" (borrowed), argv[1..argc) the
 * options and the command. Writes results to stdout and one line per error
 * to stderr, and returns an enum mp_ctl_exit. Call once per process, before
 * any other use of libcurl (a command that speaks HTTP loads and
 * initializes it; this cleans it up). */
int mp_ctl_main(int argc, char **argv);

#endif
