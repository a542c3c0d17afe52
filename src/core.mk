# The C core's sources: every src/*.c except the N-API binding (addon.c,
# napi_util.c, binding_*.c). The plain-C builds (test/c, fuzz) include this,
# so a new core file needs no edit there; binding.gyp lists the addon's.
QUIC_SRC_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
QUIC_BINDING_SRC := $(QUIC_SRC_DIR)addon.c $(QUIC_SRC_DIR)napi_util.c $(wildcard $(QUIC_SRC_DIR)binding_*.c)
CORE_SRC := $(filter-out $(QUIC_BINDING_SRC),$(wildcard $(QUIC_SRC_DIR)*.c))
