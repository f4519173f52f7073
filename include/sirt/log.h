/* log.h - levelled logging to stderr or syslog.  Never pass secrets. */
#ifndef SIRT_LOG_H
#define SIRT_LOG_H

enum sirt_log_level { SIRT_LOG_ERROR = 0, SIRT_LOG_WARN, SIRT_LOG_INFO, SIRT_LOG_DEBUG };

void sirt_log_init(const char *ident, int use_syslog, enum sirt_log_level level);
void sirt_log_set_level(enum sirt_log_level level);
enum sirt_log_level sirt_log_get_level(void);
void sirt_log(enum sirt_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define sirt_error(...) sirt_log(SIRT_LOG_ERROR, __VA_ARGS__)
#define sirt_warn(...)  sirt_log(SIRT_LOG_WARN, __VA_ARGS__)
#define sirt_info(...)  sirt_log(SIRT_LOG_INFO, __VA_ARGS__)
#define sirt_debug(...) sirt_log(SIRT_LOG_DEBUG, __VA_ARGS__)

#endif
