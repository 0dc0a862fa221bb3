/* model/pth.c — torch.save zip reader with a restricted pickle machine; see pth.h. Pickle opcodes as
 * in CPython's Lib/pickle.py / pickletools.py (protocol 2, the one torch.save uses, plus the few protocol
 * 4 opcodes a newer writer may emit). Nothing is called: REDUCE on an allowed global builds a value
 * here in C; every other global is refused when it is loaded. */
#include "model/pth.h"
#include "core/error.h"
#include "core/file.h"
#include "model/safetensors.h"
#include "model/zipfile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PK_MAX_OBJECTS 4000000
#define PK_MAX_STACK 1000000
#define PK_MAX_MEMO 4000000
/* Elements that views may produce beyond the storage elements the archive holds (stride 0, or
 * several tensors over one storage). A 747-byte file with one float expanded to [32768, 32768]
 * otherwise asked for 4 GiB and 20 s of copying (an out-of-memory under tests/fuzz/fuzz_pth).
 * 16M elements still cover a full resnet18 laid out over tiny storages (tests/data/model). */
#define PTH_MAX_EXPANDED ((uint64_t)1 << 24)

typedef enum pk_type {
    PK_MARK, PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_TUPLE, PK_LIST, PK_DICT, PK_GLOBAL, PK_STORAGE, PK_TENSOR
} pk_type;

typedef enum pk_global {
    G_ORDERED_DICT = 1, G_REBUILD_TENSOR_V2, G_REBUILD_PARAMETER, G_STORAGE
} pk_global;

typedef struct pk_obj {
    pk_type type;
    int64_t i;             /* INT, BOOL */
    double f;              /* FLOAT */
    char *s;               /* STR; STORAGE key */
    size_t n, cap;         /* TUPLE/LIST: n items; DICT: n pairs (items holds 2n) */
    struct pk_obj **items;
    int global;            /* GLOBAL: pk_global; STORAGE: too */
    int dtype;             /* GLOBAL storage type / STORAGE / TENSOR: model_dtype */
    int64_t numel;         /* STORAGE */
    struct pk_obj *storage; /* TENSOR */
    int64_t offset;
    int ndim;
    int64_t size[MODEL_MAX_DIMS], stride[MODEL_MAX_DIMS];
} pk_obj;

typedef struct vm {
    const unsigned char *p;
    size_t len, pos;
    pk_obj **objs; size_t n_objs, cap_objs;
    pk_obj **stack; size_t sp, cap_stack;
    pk_obj **memo; size_t cap_memo;
    genreid_error *err;
    const char *name;
    genreid_status st;
} vm;

static pk_obj MARK_OBJ = {PK_MARK, 0, 0, NULL, 0, 0, NULL, 0, 0, 0, NULL, 0, 0, {0}, {0}};

static genreid_status fail(vm *v, genreid_status code, const char *fmt, const char *arg) {
    if (!v->st) {
        char msg[300];
        snprintf(msg, sizeof msg, fmt, arg ? arg : "");
        v->st = err_set(v->err, code, "%s: pickle: %s (at byte %zu)", v->name, msg, v->pos);
    }
    return v->st;
}

static pk_obj *new_obj(vm *v, pk_type t) {
    if (v->n_objs >= PK_MAX_OBJECTS) {
        fail(v, GENREID_E_LIMIT, "too many objects%s", NULL);
        return NULL;
    }
    if (v->n_objs == v->cap_objs) {
        size_t nc = v->cap_objs ? v->cap_objs * 2 : 256;
        pk_obj **o = realloc(v->objs, nc * sizeof *o);
        if (!o) { fail(v, GENREID_E_NOMEM, "out of memory%s", NULL); return NULL; }
        v->objs = o;
        v->cap_objs = nc;
    }
    pk_obj *o = calloc(1, sizeof *o);
    if (!o) { fail(v, GENREID_E_NOMEM, "out of memory%s", NULL); return NULL; }
    o->type = t;
    v->objs[v->n_objs++] = o;
    return o;
}

static int push(vm *v, pk_obj *o) {
    if (!o) return -1;
    if (v->sp >= PK_MAX_STACK) { fail(v, GENREID_E_LIMIT, "stack too deep%s", NULL); return -1; }
    if (v->sp == v->cap_stack) {
        size_t nc = v->cap_stack ? v->cap_stack * 2 : 256;
        pk_obj **s = realloc(v->stack, nc * sizeof *s);
        if (!s) { fail(v, GENREID_E_NOMEM, "out of memory%s", NULL); return -1; }
        v->stack = s;
        v->cap_stack = nc;
    }
    v->stack[v->sp++] = o;
    return 0;
}

static pk_obj *pop(vm *v) {
    if (!v->sp || v->stack[v->sp - 1] == &MARK_OBJ) {
        fail(v, GENREID_E_FORMAT, "stack underflow%s", NULL);
        return NULL;
    }
    return v->stack[--v->sp];
}

static pk_obj *top(vm *v) {
    if (!v->sp || v->stack[v->sp - 1] == &MARK_OBJ) {
        fail(v, GENREID_E_FORMAT, "stack underflow%s", NULL);
        return NULL;
    }
    return v->stack[v->sp - 1];
}

/* index of the topmost MARK, or -1 */
static long find_mark(vm *v) {
    for (size_t i = v->sp; i-- > 0;)
        if (v->stack[i] == &MARK_OBJ) return (long)i;
    fail(v, GENREID_E_FORMAT, "MARK missing%s", NULL);
    return -1;
}

static int append_item(vm *v, pk_obj *c, pk_obj *x) {
    if (c->n + 2 > c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        pk_obj **it = realloc(c->items, nc * sizeof *it);
        if (!it) { fail(v, GENREID_E_NOMEM, "out of memory%s", NULL); return -1; }
        c->items = it;
        c->cap = nc;
    }
    c->items[c->n++] = x;
    return 0;
}

static int dict_set(vm *v, pk_obj *d, pk_obj *k, pk_obj *val) {
    if (d->type != PK_DICT) { fail(v, GENREID_E_UNSUPPORTED, "SETITEM on a non-dict%s", NULL); return -1; }
    /* items holds key, value pairs; n counts items (2 per pair) */
    if (append_item(v, d, k) || append_item(v, d, val)) return -1;
    return 0;
}

static int need(vm *v, size_t n) {
    if (v->len - v->pos < n) { fail(v, GENREID_E_FORMAT, "truncated pickle%s", NULL); return -1; }
    return 0;
}

static uint64_t rd(vm *v, int n) {
    uint64_t x = 0;
    for (int i = n - 1; i >= 0; i--) x = (x << 8) | v->p[v->pos + i];
    v->pos += (size_t)n;
    return x;
}

static pk_obj *make_str(vm *v, size_t n) {
    if (need(v, n)) return NULL;
    pk_obj *o = new_obj(v, PK_STR);
    if (!o) return NULL;
    o->s = malloc(n + 1);
    if (!o->s) { fail(v, GENREID_E_NOMEM, "out of memory%s", NULL); return NULL; }
    memcpy(o->s, v->p + v->pos, n);
    o->s[n] = 0;
    o->n = n;
    v->pos += n;
    return o;
}

static int memo_put(vm *v, uint64_t idx, pk_obj *o) {
    if (!o) return -1;
    if (idx >= PK_MAX_MEMO) { fail(v, GENREID_E_LIMIT, "memo index too large%s", NULL); return -1; }
    if (idx >= v->cap_memo) {
        size_t nc = v->cap_memo ? v->cap_memo : 64;
        while (nc <= idx) nc *= 2;
        pk_obj **m = realloc(v->memo, nc * sizeof *m);
        if (!m) { fail(v, GENREID_E_NOMEM, "out of memory%s", NULL); return -1; }
        memset(m + v->cap_memo, 0, (nc - v->cap_memo) * sizeof *m);
        v->memo = m;
        v->cap_memo = nc;
    }
    v->memo[idx] = o;
    return 0;
}

static pk_obj *memo_get(vm *v, uint64_t idx) {
    if (idx >= v->cap_memo || !v->memo[idx]) {
        fail(v, GENREID_E_FORMAT, "memo entry missing%s", NULL);
        return NULL;
    }
    return v->memo[idx];
}

static const struct { const char *name; int dtype; } STORAGES[] = {
    {"FloatStorage", MD_F32}, {"DoubleStorage", MD_F64}, {"HalfStorage", MD_F16}, {"BFloat16Storage", MD_BF16},
    {"LongStorage", MD_I64},  {"IntStorage", MD_I32},    {"ShortStorage", MD_I16}, {"CharStorage", MD_I8},
    {"ByteStorage", MD_U8},   {"BoolStorage", MD_BOOL},
};

static pk_obj *make_global(vm *v, const char *mod, const char *nm) {
    int g = 0, dt = 0;
    if (!strcmp(mod, "collections") && !strcmp(nm, "OrderedDict")) g = G_ORDERED_DICT;
    else if (!strcmp(mod, "torch._utils") && !strcmp(nm, "_rebuild_tensor_v2")) g = G_REBUILD_TENSOR_V2;
    else if (!strcmp(mod, "torch._utils") && !strcmp(nm, "_rebuild_parameter")) g = G_REBUILD_PARAMETER;
    else if (!strcmp(mod, "torch"))
        for (size_t k = 0; k < sizeof STORAGES / sizeof STORAGES[0]; k++)
            if (!strcmp(nm, STORAGES[k].name)) g = G_STORAGE, dt = STORAGES[k].dtype;
    if (!g) {
        char both[200], esc[200];
        snprintf(both, sizeof both, "%s %s", mod, nm);
        fail(v, GENREID_E_UNSUPPORTED, "refused global '%s' (not part of a state_dict)",
             err_escape(both, esc, sizeof esc));
        return NULL;
    }
    pk_obj *o = new_obj(v, PK_GLOBAL);
    if (o) o->global = g, o->dtype = dt;
    return o;
}

static int as_int(const pk_obj *o, int64_t *out) {
    if (!o || (o->type != PK_INT && o->type != PK_BOOL)) return -1;
    *out = o->i;
    return 0;
}

static pk_obj *int_tuple(const pk_obj *o) { return o && o->type == PK_TUPLE ? (pk_obj *)o : NULL; }

static pk_obj *reduce(vm *v, pk_obj *fn, pk_obj *args) {
    if (!fn || !args) return NULL;
    if (fn->type != PK_GLOBAL || args->type != PK_TUPLE) {
        fail(v, GENREID_E_UNSUPPORTED, "REDUCE on something that is not an allowed global%s", NULL);
        return NULL;
    }
    if (fn->global == G_ORDERED_DICT) {
        if (args->n != 0) { fail(v, GENREID_E_UNSUPPORTED, "OrderedDict with arguments%s", NULL); return NULL; }
        return new_obj(v, PK_DICT);
    }
    if (fn->global == G_REBUILD_PARAMETER) {
        if (args->n < 1 || args->items[0]->type != PK_TENSOR) {
            fail(v, GENREID_E_FORMAT, "_rebuild_parameter without a tensor%s", NULL);
            return NULL;
        }
        return args->items[0];
    }
    if (fn->global == G_REBUILD_TENSOR_V2) {
        /* (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
        pk_obj *t;
        int64_t off;
        pk_obj *sz, *stv;
        if (args->n < 4 || args->items[0]->type != PK_STORAGE || as_int(args->items[1], &off) || off < 0 ||
            !(sz = int_tuple(args->items[2])) || !(stv = int_tuple(args->items[3])) || sz->n != stv->n) {
            fail(v, GENREID_E_FORMAT, "bad _rebuild_tensor_v2 arguments%s", NULL);
            return NULL;
        }
        if (sz->n > MODEL_MAX_DIMS) { fail(v, GENREID_E_UNSUPPORTED, "tensor with too many dimensions%s", NULL); return NULL; }
        if (!(t = new_obj(v, PK_TENSOR))) return NULL;
        t->storage = args->items[0];
        t->offset = off;
        t->ndim = (int)sz->n;
        t->dtype = t->storage->dtype;
        for (size_t d = 0; d < sz->n; d++)
            if (as_int(sz->items[d], &t->size[d]) || as_int(stv->items[d], &t->stride[d]) || t->size[d] < 0 ||
                t->stride[d] < 0) {
                fail(v, GENREID_E_FORMAT, "bad tensor size or stride%s", NULL);
                return NULL;
            }
        return t;
    }
    fail(v, GENREID_E_UNSUPPORTED, "REDUCE on a storage type%s", NULL);
    return NULL;
}

static pk_obj *persistent(vm *v, pk_obj *pid) {
    if (!pid) return NULL;
    /* ('storage', storage_type, key, location, numel) */
    int64_t numel;
    if (pid->type != PK_TUPLE || pid->n != 5 || pid->items[0]->type != PK_STR || strcmp(pid->items[0]->s, "storage") ||
        pid->items[1]->type != PK_GLOBAL || pid->items[1]->global != G_STORAGE || pid->items[2]->type != PK_STR ||
        as_int(pid->items[4], &numel) || numel < 0) {
        fail(v, GENREID_E_UNSUPPORTED, "persistent id is not ('storage', type, key, location, numel)%s", NULL);
        return NULL;
    }
    pk_obj *s = new_obj(v, PK_STORAGE);
    if (!s) return NULL;
    s->dtype = pid->items[1]->dtype;
    s->s = pid->items[2]->s; /* borrowed from the key string object (freed with the VM) */
    s->numel = numel;
    return s;
}

static pk_obj *run(vm *v) {
    while (!v->st) {
        if (need(v, 1)) return NULL;
        unsigned char op = v->p[v->pos++];
        pk_obj *o = NULL, *a, *b;
        long m;
        switch (op) {
        case 0x80: if (need(v, 1)) return NULL; if (v->p[v->pos++] > 5) fail(v, GENREID_E_UNSUPPORTED, "pickle protocol > 5%s", NULL); break;
        case 0x95: if (need(v, 8)) return NULL; v->pos += 8; break; /* FRAME: length hint only */
        case '.': return pop(v);                                       /* STOP */
        case '(': if (v->sp >= PK_MAX_STACK) { fail(v, GENREID_E_LIMIT, "stack too deep%s", NULL); break; }
                  push(v, &MARK_OBJ); break;
        case '0': pop(v); break;                                       /* POP */
        case '1': if ((m = find_mark(v)) >= 0) v->sp = (size_t)m; break; /* POP_MARK */
        case '2': push(v, top(v)); break;                              /* DUP */
        case '}': push(v, new_obj(v, PK_DICT)); break;
        case ')': push(v, new_obj(v, PK_TUPLE)); break;
        case ']': push(v, new_obj(v, PK_LIST)); break;
        case 'N': push(v, new_obj(v, PK_NONE)); break;
        case 0x88: case 0x89:
            if ((o = new_obj(v, PK_BOOL))) o->i = op == 0x88;
            push(v, o);
            break;
        case 'J': if (need(v, 4)) return NULL; if ((o = new_obj(v, PK_INT))) o->i = (int32_t)(uint32_t)rd(v, 4); push(v, o); break;
        case 'K': if (need(v, 1)) return NULL; if ((o = new_obj(v, PK_INT))) o->i = (int64_t)rd(v, 1); push(v, o); break;
        case 'M': if (need(v, 2)) return NULL; if ((o = new_obj(v, PK_INT))) o->i = (int64_t)rd(v, 2); push(v, o); break;
        case 0x8a: { /* LONG1: n-byte little-endian two's complement */
            if (need(v, 1)) return NULL;
            size_t n = v->p[v->pos++];
            if (n > 8) { fail(v, GENREID_E_LIMIT, "integer wider than 64 bits%s", NULL); break; }
            if (need(v, n)) return NULL;
            uint64_t x = n ? rd(v, (int)n) : 0;
            if (n && n < 8 && (x >> (8 * n - 1)) & 1) x |= ~UINT64_C(0) << (8 * n);
            if ((o = new_obj(v, PK_INT))) o->i = (int64_t)x;
            push(v, o);
            break;
        }
        case 'G': { /* BINFLOAT: big-endian double */
            if (need(v, 8)) return NULL;
            uint64_t x = 0;
            for (int i = 0; i < 8; i++) x = (x << 8) | v->p[v->pos + i];
            v->pos += 8;
            if ((o = new_obj(v, PK_FLOAT))) memcpy(&o->f, &x, 8);
            push(v, o);
            break;
        }
        case 'X': if (need(v, 4)) return NULL; push(v, make_str(v, (size_t)rd(v, 4))); break;
        case 0x8c: if (need(v, 1)) return NULL; push(v, make_str(v, (size_t)rd(v, 1))); break;
        case 0x8d: {
            if (need(v, 8)) return NULL;
            uint64_t n = rd(v, 8);
            if (n > v->len) { fail(v, GENREID_E_FORMAT, "truncated pickle%s", NULL); break; }
            push(v, make_str(v, (size_t)n));
            break;
        }
        case 't': case 0x85: case 0x86: case 0x87: case 'l': {
            size_t from;
            if (op == 't' || op == 'l') {
                if ((m = find_mark(v)) < 0) break;
                from = (size_t)m + 1;
            } else {
                size_t k = (size_t)(op - 0x84);
                if (v->sp < k) { fail(v, GENREID_E_FORMAT, "stack underflow%s", NULL); break; }
                from = v->sp - k;
                for (size_t i = from; i < v->sp; i++)
                    if (v->stack[i] == &MARK_OBJ) { fail(v, GENREID_E_FORMAT, "stack underflow%s", NULL); break; }
            }
            if (v->st || !(o = new_obj(v, op == 'l' ? PK_LIST : PK_TUPLE))) break;
            for (size_t i = from; i < v->sp; i++)
                if (append_item(v, o, v->stack[i])) break;
            v->sp = op == 't' || op == 'l' ? from - 1 : from;
            push(v, o);
            break;
        }
        case 'q': if (need(v, 1)) return NULL; memo_put(v, rd(v, 1), top(v)); break;
        case 'r': if (need(v, 4)) return NULL; memo_put(v, rd(v, 4), top(v)); break;
        case 0x94: { size_t idx = 0; for (size_t i = 0; i < v->cap_memo; i++) if (v->memo[i]) idx = i + 1; memo_put(v, idx, top(v)); break; }
        case 'h': if (need(v, 1)) return NULL; push(v, memo_get(v, rd(v, 1))); break;
        case 'j': if (need(v, 4)) return NULL; push(v, memo_get(v, rd(v, 4))); break;
        case 'c': { /* GLOBAL "module\nname\n" */
            const unsigned char *s = v->p + v->pos, *e1 = memchr(s, '\n', v->len - v->pos), *e2;
            if (!e1 || !(e2 = memchr(e1 + 1, '\n', (size_t)(v->p + v->len - e1 - 1)))) {
                fail(v, GENREID_E_FORMAT, "truncated GLOBAL%s", NULL);
                break;
            }
            char mod[128], nm[128];
            size_t l1 = (size_t)(e1 - s), l2 = (size_t)(e2 - e1 - 1);
            if (l1 >= sizeof mod || l2 >= sizeof nm) { fail(v, GENREID_E_UNSUPPORTED, "refused global (name too long)%s", NULL); break; }
            memcpy(mod, s, l1), mod[l1] = 0;
            memcpy(nm, e1 + 1, l2), nm[l2] = 0;
            v->pos += l1 + l2 + 2;
            push(v, make_global(v, mod, nm));
            break;
        }
        case 0x93: /* STACK_GLOBAL */
            b = pop(v), a = pop(v);
            if (!a || !b) break;
            if (a->type != PK_STR || b->type != PK_STR) { fail(v, GENREID_E_FORMAT, "STACK_GLOBAL needs two strings%s", NULL); break; }
            push(v, make_global(v, a->s, b->s));
            break;
        case 'R': b = pop(v), a = pop(v); if (a && b) push(v, reduce(v, a, b)); break;
        case 'b': /* BUILD: only OrderedDict's __dict__ (state_dict._metadata), which we drop */
            b = pop(v), a = top(v);
            if (a && b && (a->type != PK_DICT || (b->type != PK_DICT && b->type != PK_NONE)))
                fail(v, GENREID_E_UNSUPPORTED, "BUILD on something other than a dict%s", NULL);
            break;
        case 's': b = pop(v), a = pop(v), o = top(v); if (a && b && o) dict_set(v, o, a, b); break;
        case 'u':
            if ((m = find_mark(v)) < 1) { if (m == 0) fail(v, GENREID_E_FORMAT, "SETITEMS without a dict%s", NULL); break; }
            o = v->stack[m - 1];
            if ((v->sp - (size_t)m - 1) % 2) { fail(v, GENREID_E_FORMAT, "SETITEMS with an odd count%s", NULL); break; }
            for (size_t i = (size_t)m + 1; i + 1 < v->sp; i += 2)
                if (dict_set(v, o, v->stack[i], v->stack[i + 1])) break;
            v->sp = (size_t)m;
            break;
        case 'a':
            b = pop(v), o = top(v);
            if (b && o) {
                if (o->type != PK_LIST) fail(v, GENREID_E_UNSUPPORTED, "APPEND on a non-list%s", NULL);
                else append_item(v, o, b);
            }
            break;
        case 'e':
            if ((m = find_mark(v)) < 1) { if (m == 0) fail(v, GENREID_E_FORMAT, "APPENDS without a list%s", NULL); break; }
            o = v->stack[m - 1];
            if (o == &MARK_OBJ || o->type != PK_LIST) { fail(v, GENREID_E_UNSUPPORTED, "APPENDS on a non-list%s", NULL); break; }
            for (size_t i = (size_t)m + 1; i < v->sp; i++)
                if (append_item(v, o, v->stack[i])) break;
            v->sp = (size_t)m;
            break;
        case 'Q': push(v, persistent(v, pop(v))); break;
        default: {
            char hex[8];
            snprintf(hex, sizeof hex, "0x%02x", op);
            fail(v, GENREID_E_UNSUPPORTED, "refused opcode %s (not used by a state_dict)", hex);
        }
        }
    }
    return NULL;
}

static void vm_free(vm *v) {
    for (size_t i = 0; i < v->n_objs; i++) {
        if (v->objs[i]->type == PK_STR) free(v->objs[i]->s);
        free(v->objs[i]->items);
        free(v->objs[i]);
    }
    free(v->objs);
    free(v->stack);
    free(v->memo);
}

static int is_tensor_dict(const pk_obj *d) {
    if (!d || d->type != PK_DICT) return 0;
    for (size_t i = 0; i < d->n; i += 2)
        if (d->items[i]->type != PK_STR || d->items[i + 1]->type != PK_TENSOR) return 0;
    return 1;
}

/* cache[entry]: each storage entry read (inflated, CRC-checked) once, however many views use it */
static genreid_status materialise(const char *esc, const zipfile *z, const char *prefix, const pk_obj *d,
                                  model_tensors *out, unsigned char **cache, genreid_error *err) {
    char path[512];
    uint64_t stored = 0, produced = 0;   /* storage elements in the archive (each entry once), view elements */
    for (size_t i = 0; i < d->n; i += 2) {
        const char *key = d->items[i]->s;
        const pk_obj *t = d->items[i + 1], *s = t->storage;
        char ek[128];
        err_escape(key, ek, sizeof ek);
        size_t shape[MODEL_MAX_DIMS], count;
        for (int k = 0; k < t->ndim; k++) shape[k] = (size_t)t->size[k];
        if (model_shape_count(t->ndim, shape, &count))
            return err_set(err, GENREID_E_LIMIT, "%s: tensor '%s': too many elements", esc, ek);
        /* the view must lie inside the storage: offset + sum((size-1)*stride) < numel */
        if (count) {
            uint64_t last = (uint64_t)t->offset;
            for (int k = 0; k < t->ndim; k++) {
                uint64_t span = (uint64_t)(t->size[k] - 1);
                if (t->stride[k] && span > (UINT64_C(1) << 62) / (uint64_t)t->stride[k])
                    return err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': stride out of range", esc, ek);
                last += span * (uint64_t)t->stride[k];
                if (last > (UINT64_C(1) << 62))
                    return err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': view out of range", esc, ek);
            }
            if (last >= (uint64_t)s->numel)
                return err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': view reaches element %llu of a %lld-element storage",
                               esc, ek, (unsigned long long)last, (long long)s->numel);
        }
        size_t esz = model_dtype_size((model_dtype)s->dtype);
        if ((uint64_t)s->numel > MODEL_MAX_ELEMENTS)
            return err_set(err, GENREID_E_LIMIT, "%s: tensor '%s': storage too large", esc, ek);
        snprintf(path, sizeof path, "%s/data/%s", prefix, s->s);
        const zipfile_entry *e = zipfile_find(z, path);
        if (!e) return err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': storage '%s' missing from the archive", esc, ek,
                               err_escape(s->s, path, 64));
        if (e->size != (uint64_t)s->numel * esz)
            return err_set(err, GENREID_E_FORMAT, "%s: tensor '%s': storage holds %llu bytes, needs %llu", esc, ek,
                           (unsigned long long)e->size, (unsigned long long)((uint64_t)s->numel * esz));
        size_t ei = (size_t)(e - z->e);
        if (!cache[ei]) stored += (uint64_t)s->numel;
        produced += count;
        if (produced > stored + PTH_MAX_EXPANDED)
            return err_set(err, GENREID_E_LIMIT, "%s: tensor '%s': views repeat their storages by more than %llu elements",
                           esc, ek, (unsigned long long)PTH_MAX_EXPANDED);
        if (!cache[ei]) {
            genreid_status st = zipfile_read(z, e, (size_t)s->numel * esz, &cache[ei], err);
            if (st) return st;
        }
        const unsigned char *data = cache[ei];
        model_tensor *mt = model_tensors_add(out, key, t->ndim, shape, err);
        if (!mt) {
            err_prefix(err, esc);
            return err ? err->code : GENREID_E_NOMEM;
        }
        mt->is_int = model_dtype_is_int((model_dtype)s->dtype);
        /* strided copy, C order: the last dimension in an inner loop, the others as a counter */
        int64_t idx[MODEL_MAX_DIMS] = {0};
        int last = t->ndim - 1;
        uint64_t run = last >= 0 ? (uint64_t)t->size[last] : 1, step = last >= 0 ? (uint64_t)t->stride[last] : 0;
        for (size_t k = 0; k < count; k += run) {
            uint64_t off = (uint64_t)t->offset;
            for (int dd = 0; dd < last; dd++) off += (uint64_t)idx[dd] * (uint64_t)t->stride[dd];
            for (uint64_t j = 0; j < run; j++)
                mt->data[k + j] = model_dtype_load(data + (off + j * step) * esz, (model_dtype)s->dtype);
            for (int dd = last - 1; dd >= 0; dd--) {
                if (++idx[dd] < t->size[dd]) break;
                idx[dd] = 0;
            }
        }
    }
    return GENREID_OK;
}

genreid_status pth_parse(const void *buf, size_t len, const char *name, model_tensors *out, genreid_error *err) {
    char esc[256];
    err_escape(name ? name : "pth", esc, sizeof esc);
    memset(out, 0, sizeof *out);
    const unsigned char *b = buf;
    if (len >= 2 && b[0] == 0x80 && b[1] <= 5)
        return err_set(err, GENREID_E_UNSUPPORTED,
                       "%s: legacy (pre-1.6, non-zip) torch.save format; re-save it with a newer torch", esc);
    if (len < 4 || memcmp(b, "PK\x03\x04", 4))
        return err_set(err, GENREID_E_FORMAT, "%s: not a PyTorch checkpoint (no zip signature)", esc);
    zipfile z;
    genreid_status st = zipfile_open(&z, buf, len, name, err);
    if (st) return st;
    /* the pickle is the one entry named <prefix>/data.pkl */
    const zipfile_entry *pk = NULL;
    for (size_t i = 0; i < z.n; i++) {
        const char *n = z.e[i].name, *slash = strchr(n, '/');
        if (slash && !strcmp(slash, "/data.pkl")) {
            pk = &z.e[i];
            break;
        }
    }
    if (!pk) {
        zipfile_close(&z);
        return err_set(err, GENREID_E_FORMAT, "%s: no data.pkl in the archive (not a torch.save file?)", esc);
    }
    char prefix[256];
    size_t pl = (size_t)(strchr(pk->name, '/') - pk->name);
    if (pl >= sizeof prefix) {
        zipfile_close(&z);
        return err_set(err, GENREID_E_FORMAT, "%s: archive prefix too long", esc);
    }
    memcpy(prefix, pk->name, pl);
    prefix[pl] = 0;
    char bo_name[300];
    snprintf(bo_name, sizeof bo_name, "%s/byteorder", prefix);
    const zipfile_entry *bo = zipfile_find(&z, bo_name);
    if (bo) {
        unsigned char *d;
        if ((st = zipfile_read(&z, bo, 16, &d, err))) {
            zipfile_close(&z);
            return st;
        }
        int little = bo->size >= 6 && !memcmp(d, "little", 6);
        free(d);
        if (!little) {
            zipfile_close(&z);
            return err_set(err, GENREID_E_UNSUPPORTED, "%s: big-endian checkpoint", esc);
        }
    }
    unsigned char *pkl;
    if ((st = zipfile_read(&z, pk, PTH_MAX_PICKLE, &pkl, err))) {
        zipfile_close(&z);
        err_prefix(err, esc);
        return st;
    }
    vm v;
    memset(&v, 0, sizeof v);
    v.p = pkl;
    v.len = (size_t)pk->size;
    v.err = err;
    v.name = esc;
    pk_obj *root = run(&v);
    if (!v.st) {
        const pk_obj *sd = NULL;
        if (is_tensor_dict(root)) sd = root;
        else if (root && root->type == PK_DICT)
            for (size_t i = 0; i < root->n; i += 2)
                if (root->items[i]->type == PK_STR &&
                    (!strcmp(root->items[i]->s, "model") || !strcmp(root->items[i]->s, "state_dict")) &&
                    is_tensor_dict(root->items[i + 1]))
                    sd = root->items[i + 1];
        if (!sd) {
            v.st = err_set(err, GENREID_E_UNSUPPORTED, "%s: not a state_dict (a dict of tensors, or one under 'model')",
                           esc);
        } else {
            unsigned char **cache = calloc(z.n ? z.n : 1, sizeof *cache);
            v.st = cache ? materialise(esc, &z, prefix, sd, out, cache, err)
                         : err_set(err, GENREID_E_NOMEM, "%s: out of memory", esc);
            for (size_t i = 0; cache && i < z.n; i++) free(cache[i]);
            free(cache);
        }
        const char *dup;
        if (!v.st && model_tensors_duplicate(out, &dup)) {
            char ed[128];
            v.st = err_set(err, GENREID_E_FORMAT, "%s: duplicate key '%s'", esc, err_escape(dup, ed, sizeof ed));
        }
    }
    st = v.st;
    vm_free(&v);
    free(pkl);
    zipfile_close(&z);
    if (st) model_tensors_free(out);
    return st;
}

genreid_status pth_read(const char *path, model_tensors *out, genreid_error *err) {
    void *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    genreid_status st = read_all(path, PTH_MAX_FILE, &buf, &len, err);
    if (st) return st;
    st = pth_parse(buf, len, path, out, err);
    free(buf);
    return st;
}
