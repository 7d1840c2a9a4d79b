/* Messages and secrets from several threads: redact's list and stderr lines are not
 * locked by lib/, so the workers go through these. */
#include "promote.h"
#include "redact.h"

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
void log_lock(void) { pthread_mutex_lock(&log_mutex); }
void log_unlock(void) { pthread_mutex_unlock(&log_mutex); }

void log_secret(const char *value)
{
	if (!value || !*value)
		return;
	log_lock();
	redact_add_secret(value);
	log_unlock();
}
