/* Limits shared by the core and the JavaScript validation of options
 * (exported to JS by the binding, so both sides use these numbers). */
#ifndef QUIC_LIMITS_H
#define QUIC_LIMITS_H

/* UDP payload sizes (maxPayloadSize): QUIC's minimum, the most an IPv4
 * Ethernet path carries (1500 - 20 - 8), and the default. */
#define QUIC_PAYLOAD_MIN 1200
#define QUIC_PAYLOAD_MAX 1472
#define QUIC_PAYLOAD_DEFAULT 1452

#endif
