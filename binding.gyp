{
  "targets": [
    {
      "target_name": "quic",
      "sources": [
        "src/addon.c",
        "src/napi_util.c",
        "src/binding_endpoint.c",
        "src/binding_session.c",
        "src/mem.c",
        "src/stats.c",
        "src/keymap.c",
        "src/udp.c",
        "src/route.c",
        "src/tls.c",
        "src/headers.c",
        "src/stream.c",
        "src/session.c",
        "src/endpoint.c",
        "src/endpoint_wrap.c",
        "src/http3.c",
        "src/app_raw.c",
        "src/send.c",
        "src/crypto.c",
        "src/events.c",
        "src/datagram.c",
        "src/qlog.c",
        "src/stream_buf.c",
        "src/tls_parse.c",
        "src/webtransport.c",
        "src/quic_lb.c",
        "src/reuseport.c"
      ],
      "cflags": [ "-std=c11", "-Wall", "-Wextra", "-fvisibility=hidden", "-D_GNU_SOURCE", "<!@(echo $QUIC_EXTRA_CFLAGS)" ],
      "cflags!": [ "-fno-exceptions" ],
      "ldflags": [ "<!@(echo $QUIC_EXTRA_LDFLAGS)" ],
      "include_dirs": [ "<!@(pkg-config --cflags-only-I libngtcp2 libnghttp3 gnutls | sed 's/-I//g')" ],
      "libraries": [ "<!@(pkg-config --libs libngtcp2_crypto_gnutls libngtcp2 libnghttp3 gnutls)" ]
    }
  ]
}
