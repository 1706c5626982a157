/* Memory jobs held for a credential: the ones that leave (past [memory]
 * held_jobs_ttl_seconds, or beyond held_jobs_per_user or held_jobs_max;
 * core/memory/heldjobs.h decides) are removed from the store in one
 * transaction, counted (memproxy_memory_jobs_total{result="expired"} and
 * {result="evicted"}) and logged, without user ids or contents. Their turns
 * stay recorded (buffer and archive): only their summary or extraction is
 * skipped. It does not find the held jobs (proxy/memory/memjob.c does).
 * Memory worker thread only. */
#ifndef MP_PROXY_HELDJOBS_DROP_H
#define MP_PROXY_HELDJOBS_DROP_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "memory/heldjobs.h"
#include "ops/store.h"

struct mp_metrics;

/* Decides the fate of held[0..n) (in queue order; jobs[held[i].at] is the
 * job) at now_ms under cfg's bounds, and removes those that leave from
 * store (borrowed, as are metrics, cfg and jobs). Returns how many leave:
 * removed, or already gone (done or erased meanwhile, by another process:
 * not counted); the caller takes them out of its index. 0, every fate
 * MP_HELDJOB_KEEP, when none leaves or the store failed (logged; the next
 * pass tries again). */
size_t mp_heldjobs_drop(struct mp_store *store, struct mp_metrics *metrics,
                        const struct mp_config *cfg, const struct mp_job *jobs,
                        struct mp_heldjob *held, size_t n, int64_t now_ms);

#endif
