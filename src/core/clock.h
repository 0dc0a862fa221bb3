/* core/clock.h — the one clock of libgenreid: monotonic seconds, for timings and ETAs. */
#ifndef GENREID_CORE_CLOCK_H
#define GENREID_CORE_CLOCK_H

double clock_now_s(void);

#endif
