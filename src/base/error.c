/* error.c: messages and names of strom_err (see error.h). */
#include "base/error.h"

#include <errno.h>

const char *strom_strerror(strom_err err) {
    switch (err) {
#define STROM_ERR_MSG(name, num, msg)                                                              \
    case STROM_ERR_##name:                                                                         \
        return msg;
        STROM_ERRORS(STROM_ERR_MSG)
#undef STROM_ERR_MSG
    default:
        return "unknown error";
    }
}

const char *strom_errname(strom_err err) {
    switch (err) {
#define STROM_ERR_NAME(name, num, msg)                                                             \
    case STROM_ERR_##name:                                                                         \
        return #name;
        STROM_ERRORS(STROM_ERR_NAME)
#undef STROM_ERR_NAME
    default:
        return "UNKNOWN";
    }
}

strom_err strom_err_from_errno(int errnum) {
    switch (errnum) {
    case 0:
        return STROM_OK;
    case ENOSPC:
    case EDQUOT:
        return STROM_ERR_NO_SPACE;
    case ENOMEM:
        return STROM_ERR_NO_MEMORY;
    case ENOENT:
        return STROM_ERR_NOT_FOUND;
    case EEXIST:
        return STROM_ERR_EXISTS;
    case EINVAL:
        return STROM_ERR_INVALID_ARGUMENT;
    case EAGAIN:
        return STROM_ERR_AGAIN;
    case ETIMEDOUT:
        return STROM_ERR_TIMEOUT;
    case EPIPE:
    case ECONNRESET:
        return STROM_ERR_CLOSED;
    case ENOTCONN:
    case ECONNREFUSED:
        return STROM_ERR_NOT_CONNECTED;
    default:
        return STROM_ERR_IO;
    }
}
