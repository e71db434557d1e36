/* libFuzzer target: the strict message decoder on arbitrary payloads.
 *
 * Whatever decodes must be canonical, so encoding the decoded message must give back exactly the
 * input bytes; anything else is a bug in the decoder (accepting a non-canonical form) or in the
 * encoder. */
#include <stdlib.h>
#include <string.h>

#include "edb_frame.h"
#include "edb_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static edb_msg msg;
    static uint8_t out[EDB_MAX_PAYLOAD];
    size_t len = 0;
    int rc = edb_msg_decode(data, size, &msg);
    if (rc > 0 || rc < EDB_ERR_SCHEMA) {
        abort();
    }
    if (rc != EDB_OK) {
        return 0;
    }
    if (edb_msg_encode(&msg, out, sizeof out, &len) != EDB_OK || len != size ||
        memcmp(out, data, size) != 0) {
        abort();
    }
    return 0;
}
