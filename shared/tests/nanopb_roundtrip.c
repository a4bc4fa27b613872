/* Decode a robohead payload with nanopb and re-encode it: argv[1] = "device"|"host", stdin = hex. */
#include <stdio.h>
#include <string.h>
#include <pb_decode.h>
#include <pb_encode.h>
#include "robohead/protocol/v1/device.pb.h"
#include "robohead_schema_hash.h"

static int unhex(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    while (s[0] && s[1] && s[0] != '\n') {
        unsigned v;
        if (n >= cap || sscanf(s, "%2x", &v) != 1) return -1;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return (int)n;
}

int main(int argc, char **argv) {
    static char line[8192];
    static uint8_t in[ROBOHEAD_MAX_PAYLOAD], out[ROBOHEAD_MAX_PAYLOAD];
    int device = argc > 1 && strcmp(argv[1], "device") == 0;
    if (argc > 1 && strcmp(argv[1], "hash") == 0) { printf("%08x\n", (unsigned)ROBOHEAD_SCHEMA_HASH); return 0; }
    if (!fgets(line, sizeof line, stdin)) return 2;
    int n = unhex(line, in, sizeof in);
    if (n < 0) return 3;
    pb_istream_t is = pb_istream_from_buffer(in, (size_t)n);
    pb_ostream_t os = pb_ostream_from_buffer(out, sizeof out);
    bool ok;
    if (device) {
        robohead_v1_DeviceMessage m = robohead_v1_DeviceMessage_init_zero;
        ok = pb_decode(&is, robohead_v1_DeviceMessage_fields, &m) &&
             pb_encode(&os, robohead_v1_DeviceMessage_fields, &m);
    } else {
        robohead_v1_HostMessage m = robohead_v1_HostMessage_init_zero;
        ok = pb_decode(&is, robohead_v1_HostMessage_fields, &m) &&
             pb_encode(&os, robohead_v1_HostMessage_fields, &m);
    }
    if (!ok) { fprintf(stderr, "nanopb: %s\n", PB_GET_ERROR(&is) ); return 1; }
    for (size_t i = 0; i < os.bytes_written; i++) printf("%02x", out[i]);
    printf("\n");
    return 0;
}
