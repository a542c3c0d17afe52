#include "headers.h"

#include <string.h>

#include "mem.h"

/* u32s are copied, not cast: fields start at any byte. */
static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* A received block's first allocation: most requests' fields fit. */
#define NVLIST_FIRST_CAP 256

int quic_nvlist_add(quic_nvlist *l, const uint8_t *name, size_t namelen, const uint8_t *value, size_t valuelen) {
  if (namelen > UINT32_MAX || valuelen > UINT32_MAX) return QUIC_ERR_INVALID;
  if (l->count == UINT32_MAX) return QUIC_ERR_LIMIT;
  /* Two u32 lengths cannot overflow a 64-bit size_t, but a 32-bit one can. */
  if (l->len > SIZE_MAX - 8 || namelen > SIZE_MAX - 8 - l->len || valuelen > SIZE_MAX - 8 - l->len - namelen)
    return QUIC_ERR_INVALID;
  size_t need = l->len + quic_hfield_size(namelen, valuelen);
  if (need > l->cap) {
    /* Doubling: a received block grows a field at a time; the first
     * allocation holds a typical request's fields whole. */
    size_t cap = l->cap > SIZE_MAX / 2 ? need : QUIC_MAX(QUIC_MAX(l->cap * 2, need), NVLIST_FIRST_CAP);
    uint8_t *d = quic_realloc(l->data, cap);
    if (d == NULL) return QUIC_ERR_NOMEM;
    l->data = d;
    l->cap = cap;
  }
  uint8_t *p = l->data + l->len;
  put_u32(p, (uint32_t)namelen);
  if (namelen) memcpy(p + 4, name, namelen);
  put_u32(p + 4 + namelen, (uint32_t)valuelen);
  if (valuelen) memcpy(p + 8 + namelen, value, valuelen);
  l->len = need;
  l->count++;
  return QUIC_OK;
}

int quic_nvlist_reserve(quic_nvlist *l, size_t cap) {
  if (cap <= l->cap) return QUIC_OK;
  uint8_t *d = quic_realloc(l->data, cap);
  if (d == NULL) return QUIC_ERR_NOMEM;
  l->data = d;
  l->cap = cap;
  return QUIC_OK;
}

void quic_nvlist_reset(quic_nvlist *l) {
  l->len = 0;
  l->count = 0;
}

void quic_nvlist_clear(quic_nvlist *l) {
  quic_free(l->data);
  memset(l, 0, sizeof(*l));
}

quic_hblock *quic_hblock_new(const quic_nvlist *l, uint8_t kind) {
  if (l->len > SIZE_MAX - sizeof(quic_hblock)) return NULL;
  quic_hblock *b = quic_malloc(sizeof(*b) + l->len);
  if (b == NULL) return NULL;
  b->next = NULL;
  b->kind = kind;
  b->count = l->count;
  b->len = l->len;
  if (l->len) memcpy(b->data, l->data, l->len);
  return b;
}

void quic_hiter_init(quic_hiter *it, const uint8_t *data, size_t len, uint32_t count) {
  it->data = data;
  it->len = data ? len : 0;
  it->off = 0;
  it->left = count;
  it->failed = false;
}

static int hiter_fail(quic_hiter *it) {
  it->failed = true;
  return QUIC_ERR_INVALID;
}

int quic_hiter_next(quic_hiter *it, quic_hfield *f) {
  if (it->failed) return QUIC_ERR_INVALID;
  size_t rest = it->len - it->off;
  /* Done only when the count and the bytes run out together. */
  if (it->left == 0) return rest == 0 ? 0 : hiter_fail(it);
  /* Each check is against what is left, so no sum can overflow. */
  if (rest < 4) return hiter_fail(it);
  const uint8_t *p = it->data + it->off;
  uint32_t nl = get_u32(p);
  if (nl > rest - 4 || rest - 4 - nl < 4) return hiter_fail(it);
  uint32_t vl = get_u32(p + 4 + nl);
  if (vl > rest - 8 - nl) return hiter_fail(it);
  f->name = p + 4;
  f->namelen = nl;
  f->value = p + 8 + nl;
  f->valuelen = vl;
  it->off += quic_hfield_size(nl, vl);
  it->left--;
  return 1;
}

bool quic_headers_valid(const uint8_t *data, size_t len, uint32_t count) {
  quic_hiter it;
  quic_hfield f;
  int rv;
  quic_hiter_init(&it, data, len, count);
  while ((rv = quic_hiter_next(&it, &f)) > 0) {}
  return rv == 0;
}
