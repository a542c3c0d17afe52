/* Raw QUIC: the application's streams are the QUIC streams themselves. Data
 * goes out round robin from the session's send queue, straight from each
 * stream's buffer. */
#include <ngtcp2/ngtcp2.h>

#include "session.h"
#include "session_internal.h"
#include "stream.h"

static int start(quic_session *s) {
  QUIC_UNUSED(s);
  return QUIC_OK;
}

static void stop(quic_session *s) { QUIC_UNUSED(s); }

static int stream_open(quic_session *s, int64_t id) {
  if (s->state >= QUIC_SESSION_GRACEFUL) {
    /* close() was called: new peer streams are refused. */
    ngtcp2_conn_shutdown_stream(s->conn, 0, id, 0);
    return 0;
  }
  return quic_session_remote_stream(s, id, NULL) ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int recv_data(quic_session *s, int64_t id, quic_stream *st, const uint8_t *data, size_t len, bool fin) {
  st = quic_session_remote_stream(s, id, st);
  if (st == NULL) return NGTCP2_ERR_CALLBACK_FAILURE;
  return quic_session_stream_data(st, data, len, fin) == QUIC_OK ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int acked(quic_session *s, int64_t id, quic_stream *st, uint64_t offset, uint64_t len) {
  QUIC_UNUSED(s);
  QUIC_UNUSED(id);
  if (st) quic_session_stream_acked(st, offset + len);
  return 0;
}

static void stream_close(quic_session *s, int64_t id, quic_stream *st, uint64_t code) {
  QUIC_UNUSED(s);
  QUIC_UNUSED(id);
  QUIC_UNUSED(st);
  QUIC_UNUSED(code);
}

static quic_stream *peer_abort(quic_session *s, int64_t id, quic_stream *st) {
  return quic_session_remote_stream(s, id, st);
}

static void read_stopped(quic_session *s, int64_t id, quic_stream *st) {
  QUIC_UNUSED(s);
  QUIC_UNUSED(id);
  QUIC_UNUSED(st);
}

static void unblock(quic_session *s, int64_t id) {
  QUIC_UNUSED(s);
  QUIC_UNUSED(id);
}

static void resume(quic_stream *st) {
  quic_session *s = st->session;
  if ((st->flags & QUIC_STREAM_OPEN) && !(st->flags & QUIC_STREAM_BLOCKED) && quic_stream_has_unsent(st) &&
      !quic_link_linked(&st->send_link))
    quic_list_push(&s->send_queue, &st->send_link);
}

static void opened(quic_stream *st) { QUIC_UNUSED(st); }

static int next(quic_session *s, quic_app_out *o) {
  if (quic_list_empty(&s->send_queue)) return 0;
  quic_stream *st = QUIC_CONTAINER(s->send_queue.next, quic_stream, send_link);
  o->st = st;
  o->id = st->id;
  o->nvec = quic_stream_tx_vec(st, st->tx_sent, o->vec, QUIC_ARRAY_LEN(o->vec));
  uint64_t total = 0;
  for (size_t i = 0; i < o->nvec; i++) total += o->vec[i].len;
  o->fin = (st->flags & QUIC_STREAM_FIN_QUEUED) && st->tx_sent + total == st->tx_written;
  return 0;
}

static int wrote(quic_session *s, quic_app_out *o, size_t n) {
  quic_stream *st = o->st;
  quic_stream_tx_advance(st, n);
  if (o->fin && st->tx_sent == st->tx_written) st->flags |= QUIC_STREAM_FIN_SENT;
  quic_session_stream_check_drain(st);
  /* To the back of the queue: round robin. */
  quic_list_remove(&st->send_link);
  resume(st);
  QUIC_UNUSED(s);
  return 0;
}

static quic_stream *blocked(quic_session *s, quic_app_out *o) {
  QUIC_UNUSED(s);
  quic_list_remove(&o->st->send_link);
  return o->st;
}

static void shut(quic_session *s, quic_app_out *o) {
  QUIC_UNUSED(s);
  quic_list_remove(&o->st->send_link);
}

static void shutdown_write(quic_stream *st) { QUIC_UNUSED(st); }

static uint64_t taken(const quic_stream *st) { return st->tx_sent; }

static void goaway(quic_session *s, bool final) {
  QUIC_UNUSED(s);
  QUIC_UNUSED(final);
}

const quic_app_ops quic_app_raw = {
    .name = "raw",
    .headers = false,
    .framed = false,
    .no_error = 0,
    .start = start,
    .stop = stop,
    .stream_open = stream_open,
    .recv = recv_data,
    .acked = acked,
    .stream_close = stream_close,
    .peer_abort = peer_abort,
    .read_stopped = read_stopped,
    .unblock = unblock,
    .resume = resume,
    .opened = opened,
    .next = next,
    .wrote = wrote,
    .blocked = blocked,
    .shut = shut,
    .shutdown_write = shutdown_write,
    .taken = taken,
    .goaway = goaway,
    .submit = NULL,
};
