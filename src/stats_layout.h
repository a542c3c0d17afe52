/* Stats layouts: one list per object, in slot order. Each list generates
 * the C struct the core writes (quic_endpoint_counters in endpoint.h,
 * quic_session_counters in session.h, quic_stream_counters in stream.h) and
 * the slot names addon.c exports (constants.STATS_*_SLOTS), from which
 * lib/stats.js takes its indices; it refuses to load if a public field
 * names a slot that is not here. So a slot is added, removed or moved here
 * and nowhere else. Every slot is a uint64_t; timestamps are quic_now()
 * nanoseconds, 0 until the thing happens. Plain C: no node_api.h. */
#ifndef QUIC_STATS_LAYOUT_H
#define QUIC_STATS_LAYOUT_H

#include <stdint.h>

/* EndpointStats. */
#define QUIC_ENDPOINT_STATS(V)                                                                                 \
  V(created_at)                                                                                                \
  V(destroyed_at)                                                                                              \
  V(bytes_received)                                                                                            \
  V(bytes_sent)                                                                                                \
  V(packets_received)                                                                                          \
  V(packets_sent)                                                                                              \
  V(server_sessions)                                                                                           \
  V(client_sessions)                                                                                           \
  V(server_busy_count)                                                                                         \
  V(stateless_reset_count)                                                                                      \
  V(misrouted_count)

/* SessionStats. The RTT values are nanoseconds; the conn_info values
 * (initial_rtt .. max_udp_payload_size) are refreshed once per flush, not
 * per read. */
#define QUIC_SESSION_STATS(V)                                                                                  \
  V(created_at)                                                                                                \
  V(destroyed_at)                                                                                              \
  V(handshake_completed_at)                                                                                    \
  V(handshake_confirmed_at)                                                                                    \
  V(closing_at)                                                                                                \
  V(last_received_at)                                                                                          \
  V(last_sent_at)                                                                                              \
  V(last_sent_packet_ts)                                                                                       \
  V(first_rtt_sample_ts)                                                                                       \
  V(bytes_received)                                                                                            \
  V(bytes_sent)                                                                                                \
  V(stream_bytes_acked)                                                                                        \
  V(bidi_stream_count)                                                                                         \
  V(uni_stream_count)                                                                                          \
  V(inbound_streams)                                                                                           \
  V(outbound_streams)                                                                                          \
  V(block_count)                                                                                               \
  V(key_update_count)                                                                                          \
  V(initial_rtt)                                                                                               \
  V(latest_rtt)                                                                                                \
  V(min_rtt)                                                                                                   \
  V(smoothed_rtt)                                                                                              \
  V(rtt_var)                                                                                                   \
  V(cwnd)                                                                                                      \
  V(ssthresh)                                                                                                  \
  V(bytes_in_flight)                                                                                           \
  V(max_bytes_in_flight)                                                                                       \
  V(max_udp_payload_size)                                                                                      \
  V(packets_received)                                                                                          \
  V(packets_sent)

/* StreamStats. Byte counts are application bytes (HTTP/3: body bytes).
 * max_offset is the peer's limit on what we may send (MAX_STREAM_DATA),
 * max_offset_acked the contiguous offset the peer acknowledged,
 * max_offset_received the end of the data received so far. */
#define QUIC_STREAM_STATS(V)                                                                                   \
  V(created_at)                                                                                                \
  V(destroyed_at)                                                                                              \
  V(closing_at)                                                                                                \
  V(last_received_at)                                                                                          \
  V(last_acked_at)                                                                                             \
  V(bytes_received)                                                                                            \
  V(bytes_sent)                                                                                                \
  V(final_size)                                                                                                \
  V(max_offset)                                                                                                \
  V(max_offset_acked)                                                                                          \
  V(max_offset_received)

/* A WebTransport session's datagrams (quic_wt_dgram_stats in
 * webtransport.h; the W3C WebTransportDatagramStats and ours): sent (queued
 * to send), received (kept for the application), dropped_in (arrived with
 * the incoming queue full), expired_in (older than incomingMaxAge when the
 * application came for them), dropped_out (refused: too large, or the
 * outgoing queue full), expired_out (older than outgoingMaxAge before a
 * packet had room), lost_out (sent, declared lost by ngtcp2). */
#define QUIC_WT_DATAGRAM_STATS(V)                                                                              \
  V(sent)                                                                                                      \
  V(received)                                                                                                  \
  V(dropped_in)                                                                                                \
  V(expired_in)                                                                                                \
  V(dropped_out)                                                                                               \
  V(expired_out)                                                                                               \
  V(lost_out)

/* Generators: a struct member per slot, and its name as a string (for the
 * exported list). */
#define QUIC_STATS_FIELD(name) uint64_t name;
#define QUIC_STATS_NAME(name) #name,

#endif
