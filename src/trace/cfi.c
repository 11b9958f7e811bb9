/*
 * cfi.c — DWARF call-frame information (.eh_frame) read once per code
 * address into a compact rule (trace.h: rct_frame_rule), for the default
 * stack walk (stack.c, rct_capture_cfi).
 *
 * Debian builds its programs and libraries without frame pointers, so the
 * frame-pointer walk stops after a frame or two there; every ELF module
 * still carries .eh_frame (C++ exceptions and glibc's backtrace need it).
 * For a return address the loader tells which module holds it
 * (_dl_find_object: no lock, no system call), the module's .eh_frame_hdr
 * gives its FDE by binary search, and the CIE's and FDE's instructions,
 * run up to that address, give three facts: where the caller's stack
 * pointer (the CFA) is, and where the return address and the caller's
 * frame pointer were saved.  Those fit in 64 bits and are cached in one
 * table shared by every thread, keyed by the return address, insert-only: a
 * program returns to a few thousand addresses, so after its first moments
 * a frame costs one probe of the table and two loads.  Libunwind does the
 * same work with a general register state per frame, which is what makes
 * it several times slower.
 *
 * A rule the cache cannot express (a CFA from a general DWARF expression,
 * a return address saved elsewhere than CFA - 8, a signal frame) is
 * RCT_CFA_FP: that frame is walked through its frame pointer.
 *
 * Known limit: a module unloaded (dlclose) and another loaded at the same
 * addresses keeps the first one's cached rules; the walk stays inside the
 * stack, so the cost is a wrong frame, never a crash.
 */
#define _GNU_SOURCE
#include "trace.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__x86_64__) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define RCT_HAVE_CFI 1
#endif

#ifdef RCT_HAVE_CFI

/* ---- A frame's rule ---------------------------------------------------------------- */

typedef rct_frame_rule rule;
_Static_assert(sizeof(rule) == 8, "a rule is one word: a cache entry's value");

static uint64_t rule_word(rule r)
{
    uint64_t w;
    memcpy(&w, &r, sizeof w);
    return w;
}

static rule word_rule(uint64_t w)
{
    rule r;
    memcpy(&r, &w, sizeof r);
    return r;
}

/* ---- Reading .eh_frame -------------------------------------------------------------- */

enum {
    DW_EH_PE_omit = 0xff, DW_EH_PE_absptr = 0x00, DW_EH_PE_uleb128 = 0x01,
    DW_EH_PE_udata2 = 0x02, DW_EH_PE_udata4 = 0x03, DW_EH_PE_udata8 = 0x04,
    DW_EH_PE_sleb128 = 0x09, DW_EH_PE_sdata2 = 0x0a, DW_EH_PE_sdata4 = 0x0b,
    DW_EH_PE_sdata8 = 0x0c, DW_EH_PE_pcrel = 0x10, DW_EH_PE_datarel = 0x30,
};
enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };

typedef struct reader {
    const uint8_t *p, *end;
    bool bad;
} reader;

static uint64_t uleb(reader *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t sleb(reader *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0x80;
    while (r->p < r->end && (b & 0x80)) {
        b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    }
    if (b & 0x80)
        r->bad = true;
    else if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

static uint64_t fixed(reader *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = true;
        r->p = r->end;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, n); /* little-endian */
    r->p += n;
    return v;
}

/* A pointer in encoding enc (pc-relative, data-relative to datarel, or
   absolute); indirect pointers are read as their address (only the
   personality routine uses them, and it is skipped). */
static uintptr_t pointer(reader *r, uint8_t enc, uintptr_t datarel)
{
    uintptr_t here = (uintptr_t)r->p, base = 0;
    switch (enc & 0x70) {
    case 0: break;
    case DW_EH_PE_pcrel: base = here; break;
    case DW_EH_PE_datarel: base = datarel; break;
    default: r->bad = true; return 0;
    }
    uint64_t v;
    switch (enc & 0x0f) {
    case DW_EH_PE_absptr: v = fixed(r, 8); break;
    case DW_EH_PE_uleb128: v = uleb(r); break;
    case DW_EH_PE_udata2: v = fixed(r, 2); break;
    case DW_EH_PE_udata4: v = fixed(r, 4); break;
    case DW_EH_PE_udata8: v = fixed(r, 8); break;
    case DW_EH_PE_sleb128: v = (uint64_t)sleb(r); break;
    case DW_EH_PE_sdata2: v = (uint64_t)(int64_t)(int16_t)fixed(r, 2); break;
    case DW_EH_PE_sdata4: v = (uint64_t)(int64_t)(int32_t)fixed(r, 4); break;
    case DW_EH_PE_sdata8: v = fixed(r, 8); break;
    default: r->bad = true; return 0;
    }
    return base + (uintptr_t)v;
}

/* ---- Running the CFA instructions --------------------------------------------------- */

typedef struct regs_rule {
    uint8_t cfa_reg;          /* REG_RSP, REG_RBP; RCT_CFA_AT_RBP via cfa_deref */
    bool cfa_deref;           /* CFA = [rbp + cfa_off] */
    bool cfa_bad;             /* a rule we cannot follow */
    int64_t cfa_off;
    uint8_t rbp;              /* RCT_RBP_SAME, RCT_RBP_AT_CFA, RCT_RBP_AT_RBP */
    int64_t rbp_off;
    bool ra_undefined;        /* the outermost frame */
    bool ra_bad;              /* the return address not at CFA - 8 */
} regs_rule;

#define REMEMBER_DEPTH 8

typedef struct cie_info {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    bool augmented;           /* 'z': FDEs carry an augmentation length */
    bool signal;              /* 'S': a signal frame */
    const uint8_t *insns, *insns_end;
} cie_info;

/* A register rule: offset(n) from the CFA (n already scaled). */
static void reg_offset(regs_rule *s, uint64_t reg, int64_t off)
{
    if (reg == REG_RBP) {
        s->rbp = RCT_RBP_AT_CFA;
        s->rbp_off = off;
    } else if (reg == REG_RA) {
        s->ra_bad = off != -8;
        s->ra_undefined = false;
    }
}

/* A rule other than offset(n) or same-value for reg. */
static void reg_other(regs_rule *s, uint64_t reg, bool undefined)
{
    if (reg == REG_RBP)
        s->rbp = RCT_RBP_SAME; /* undefined rbp: the caller's is unknown, keep ours */
    else if (reg == REG_RA) {
        s->ra_undefined = undefined;
        s->ra_bad = !undefined;
    }
}

static void reg_restore(regs_rule *s, const regs_rule *init, uint64_t reg)
{
    if (reg == REG_RBP) {
        s->rbp = init->rbp;
        s->rbp_off = init->rbp_off;
    } else if (reg == REG_RA) {
        s->ra_bad = init->ra_bad;
        s->ra_undefined = init->ra_undefined;
    }
}

/* DW_OP_breg6 (rbp) k, nothing else after it but an optional DW_OP_deref:
   the forms GCC writes for functions that realign their stack. */
static bool rbp_expression(const uint8_t *p, uint64_t len, bool deref, int64_t *k)
{
    reader e = {p, p + len, false};
    if (e.p >= e.end || *e.p++ != 0x76)
        return false;
    *k = sleb(&e);
    if (deref && (e.p >= e.end || *e.p++ != 0x06))
        return false;
    return !e.bad && e.p == e.end;
}

/* Run instructions [p, end) from location loc until it passes pc. */
static bool run_insns(const cie_info *c, const uint8_t *p, const uint8_t *end, uintptr_t loc,
                      uintptr_t pc, regs_rule *s, const regs_rule *init)
{
    reader r = {p, end, false};
    regs_rule saved[REMEMBER_DEPTH];
    int nsaved = 0;
    while (r.p < r.end && !r.bad) {
        uint8_t op = *r.p++, low = op & 0x3f;
        uint64_t reg, len;
        int64_t k = 0;
        switch (op >> 6) {
        case 1:
            loc += low * c->code_align;
            if (loc > pc)
                return true;
            continue;
        case 2:
            reg_offset(s, low, (int64_t)uleb(&r) * c->data_align);
            continue;
        case 3:
            reg_restore(s, init, low);
            continue;
        }
        switch (op) {
        case 0x00: break;                                            /* nop */
        case 0x01: loc = pointer(&r, c->fde_enc, 0); goto moved;     /* set_loc */
        case 0x02: loc += fixed(&r, 1) * c->code_align; goto moved;  /* advance_loc1 */
        case 0x03: loc += fixed(&r, 2) * c->code_align; goto moved;  /* advance_loc2 */
        case 0x04: loc += fixed(&r, 4) * c->code_align; goto moved;  /* advance_loc4 */
        case 0x05: reg = uleb(&r); reg_offset(s, reg, (int64_t)uleb(&r) * c->data_align); break;
        case 0x06: reg_restore(s, init, uleb(&r)); break;            /* restore_extended */
        case 0x07: reg_other(s, uleb(&r), true); break;              /* undefined */
        case 0x08: reg_restore(s, &(regs_rule){0}, uleb(&r)); break; /* same_value */
        case 0x09: reg_other(s, uleb(&r), false); uleb(&r); break;   /* register */
        case 0x0a:                                                   /* remember_state */
            if (nsaved == REMEMBER_DEPTH)
                return false;
            saved[nsaved++] = *s;
            break;
        case 0x0b:                                                   /* restore_state */
            if (!nsaved)
                return false;
            *s = saved[--nsaved];
            break;
        case 0x0c:                                                   /* def_cfa */
            s->cfa_reg = (uint8_t)uleb(&r);
            s->cfa_off = (int64_t)uleb(&r);
            s->cfa_deref = s->cfa_bad = false;
            break;
        case 0x0d: s->cfa_reg = (uint8_t)uleb(&r); s->cfa_deref = false; break;
        case 0x0e: s->cfa_off = (int64_t)uleb(&r); break;
        case 0x0f:                                                   /* def_cfa_expression */
            len = uleb(&r);
            if ((uint64_t)(r.end - r.p) < len)
                return false;
            s->cfa_deref = rbp_expression(r.p, len, true, &k);
            s->cfa_bad = !s->cfa_deref;
            s->cfa_reg = REG_RBP;
            s->cfa_off = k;
            r.p += len;
            break;
        case 0x10:                                                   /* expression */
        case 0x16:                                                   /* val_expression */
            reg = uleb(&r);
            len = uleb(&r);
            if ((uint64_t)(r.end - r.p) < len)
                return false;
            if (op == 0x10 && reg == REG_RBP && rbp_expression(r.p, len, false, &k)) {
                s->rbp = RCT_RBP_AT_RBP;
                s->rbp_off = k;
            } else {
                reg_other(s, reg, false);
            }
            r.p += len;
            break;
        case 0x11: reg = uleb(&r); reg_offset(s, reg, sleb(&r) * c->data_align); break;
        case 0x12:                                                   /* def_cfa_sf */
            s->cfa_reg = (uint8_t)uleb(&r);
            s->cfa_off = sleb(&r) * c->data_align;
            s->cfa_deref = s->cfa_bad = false;
            break;
        case 0x13: s->cfa_off = sleb(&r) * c->data_align; break;     /* def_cfa_offset_sf */
        case 0x14: reg = uleb(&r); uleb(&r); reg_other(s, reg, false); break; /* val_offset */
        case 0x15: reg = uleb(&r); sleb(&r); reg_other(s, reg, false); break; /* val_offset_sf */
        case 0x2e: uleb(&r); break;                                  /* GNU_args_size */
        case 0x2f:                                                   /* GNU_negative_offset_extended */
            reg = uleb(&r);
            reg_offset(s, reg, -(int64_t)uleb(&r) * c->data_align);
            break;
        default: return false;
        }
        continue;
    moved:
        if (loc > pc)
            return true;
    }
    return !r.bad;
}

/* ---- CIEs and FDEs ------------------------------------------------------------------ */

/* The entry at p: its contents [*body, *end); false if malformed. */
static bool entry_at(const uint8_t *p, const uint8_t **body, const uint8_t **end)
{
    uint32_t len32;
    memcpy(&len32, p, 4);
    if (len32 == 0 || len32 == 0xffffffffu) /* a terminator, or a 64-bit entry (never in .eh_frame) */
        return false;
    *body = p + 4;
    *end = *body + len32;
    return true;
}

static bool parse_cie(const uint8_t *p, cie_info *c)
{
    const uint8_t *body, *end;
    if (!entry_at(p, &body, &end))
        return false;
    reader r = {body, end, false};
    if (fixed(&r, 4) != 0) /* CIE id */
        return false;
    uint8_t version = (uint8_t)fixed(&r, 1);
    const char *aug = (const char *)r.p;
    size_t aug_len = strnlen(aug, (size_t)(r.end - r.p));
    r.p += aug_len + 1;
    if (r.p > r.end || (aug_len && aug[0] != 'z') || strstr(aug, "eh"))
        return false;
    *c = (cie_info){.fde_enc = DW_EH_PE_absptr};
    c->code_align = uleb(&r);
    c->data_align = sleb(&r);
    c->ra_reg = version == 1 ? fixed(&r, 1) : uleb(&r);
    if (aug_len) {
        c->augmented = true;
        uint64_t n = uleb(&r);
        if (r.bad || n > (uint64_t)(r.end - r.p))
            return false;
        const uint8_t *after = r.p + n;
        for (const char *a = aug + 1; *a && !r.bad; a++) {
            if (*a == 'R')
                c->fde_enc = (uint8_t)fixed(&r, 1);
            else if (*a == 'L')
                fixed(&r, 1);
            else if (*a == 'P')
                pointer(&r, (uint8_t)fixed(&r, 1), 0);
            else if (*a == 'S')
                c->signal = true;
        }
        r.p = after;
    }
    c->insns = r.p;
    c->insns_end = end;
    return !r.bad && r.p <= end && c->ra_reg == REG_RA;
}

/* The rule for pc from the FDE at fde. */
static rule rule_from_fde(const uint8_t *fde, uintptr_t pc)
{
    const rule none = {.cfa = RCT_CFA_FP};
    const uint8_t *body, *end;
    if (!entry_at(fde, &body, &end))
        return none;
    reader r = {body, end, false};
    uint32_t cie_off = (uint32_t)fixed(&r, 4);
    cie_info c;
    if (!cie_off || !parse_cie(body - cie_off, &c) || c.signal)
        return none;
    uintptr_t start = pointer(&r, c.fde_enc, 0);
    uintptr_t range = pointer(&r, c.fde_enc & 0x0f, 0);
    if (r.bad || pc < start || pc - start >= range)
        return none;
    if (c.augmented) {
        uint64_t skip = uleb(&r); /* the augmentation data (an LSDA pointer) */
        if (r.bad || skip > (uint64_t)(end - r.p))
            return none;
        r.p += skip;
    }
    regs_rule init = {.cfa_reg = REG_RSP}, s;
    if (!run_insns(&c, c.insns, c.insns_end, 0, UINTPTR_MAX, &init, &init))
        return none;
    s = init;
    if (!run_insns(&c, r.p, end, start, pc, &s, &init))
        return none;
    if (s.ra_undefined)
        return (rule){.cfa = RCT_CFA_END};
    if (s.cfa_bad || s.ra_bad || s.cfa_off != (int32_t)s.cfa_off ||
        s.rbp_off != (int16_t)s.rbp_off || (s.cfa_reg != REG_RSP && s.cfa_reg != REG_RBP))
        return none;
    rule out = {.cfa = s.cfa_deref ? RCT_CFA_AT_RBP : s.cfa_reg == REG_RSP ? RCT_CFA_RSP : RCT_CFA_RBP,
                .rbp = s.rbp, .rbp_off = s.rbp == RCT_RBP_SAME ? 0 : (int16_t)s.rbp_off,
                .cfa_off = (int32_t)s.cfa_off};
    /* The walk follows a rule from rsp without checking its loads against
       the stack's bottom (trace.h): one that would read below rsp, or not
       move up past the return address, is not followed. */
    if (out.cfa == RCT_CFA_RSP &&
        (out.cfa_off < 8 ||
         (out.rbp == RCT_RBP_AT_CFA && (out.rbp_off < -out.cfa_off || out.rbp_off > -16))))
        return none;
    /* A frame-pointer frame's own rule (push rbp; mov rsp, rbp) is the
       frame-pointer step, which the walk takes without decoding a rule. */
    if (out.cfa == RCT_CFA_RBP && out.cfa_off == 16 && out.rbp == RCT_RBP_AT_CFA &&
        out.rbp_off == -16)
        return none;
    return out;
}

/* The rule for pc: its module's .eh_frame_hdr searched for the FDE. */
static rule rule_lookup(uintptr_t pc)
{
    const rule none = {.cfa = RCT_CFA_FP};
    struct dl_find_object fo;
    if (_dl_find_object((void *)pc, &fo) != 0 || !fo.dlfo_eh_frame)
        return none;
    const uint8_t *hdr = fo.dlfo_eh_frame;
    if (hdr[0] != 1 || hdr[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
        return none; /* the table's encoding every linker writes */
    reader r = {hdr + 4, hdr + 4 + 16, false};
    pointer(&r, hdr[1], (uintptr_t)hdr); /* .eh_frame itself */
    uint64_t count = pointer(&r, hdr[2], (uintptr_t)hdr);
    if (r.bad || hdr[2] == DW_EH_PE_omit)
        return none;
    const int32_t *table = (const int32_t *)r.p; /* (initial location, FDE) pairs */
    uintptr_t base = (uintptr_t)hdr;
    size_t lo = 0, hi = count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (base + (intptr_t)table[2 * mid] <= pc)
            lo = mid;
        else
            hi = mid;
    }
    if (!count || base + (intptr_t)table[2 * lo] > pc)
        return none;
    return rule_from_fde((const uint8_t *)(base + (intptr_t)table[2 * lo + 1]), pc);
}

/* ---- The cache: return address -> rule, shared by every thread --------------------
 * Insert-only open addressing (stack.c probes the first slot inline): a
 * slot's return address is claimed by compare-and-swap and its rule stored
 * after; a reader that finds the address before the rule works the rule
 * out itself.
 * When a probe finds no room the rule is not kept. */

#define CACHE_SLOTS ((size_t)1 << RCT_CFI_CACHE_BITS)
#define CACHE_PROBES 16

rct_cfi_slot *_Atomic rct_cfi_cache;

static rct_cfi_slot *cache_get(void)
{
    rct_cfi_slot *c = atomic_load_explicit(&rct_cfi_cache, memory_order_acquire);
    if (c)
        return c;
    void *p = mmap(NULL, CACHE_SLOTS * sizeof *c, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    rct_cfi_slot *expect = NULL;
    if (!atomic_compare_exchange_strong(&rct_cfi_cache, &expect, p)) {
        munmap(p, CACHE_SLOTS * sizeof *c);
        return expect;
    }
    return p;
}

rct_frame_rule rct_cfi_rule_slow(uintptr_t ra)
{
    rct_cfi_slot *c = cache_get();
    uintptr_t pc = ra - 1; /* inside the call, not after it */
    if (!c)
        return rule_lookup(pc);
    size_t i = rct_cfi_index(ra);
    for (int probe = 0; probe < CACHE_PROBES; probe++, i = (i + 1) & (CACHE_SLOTS - 1)) {
        uintptr_t k = atomic_load_explicit(&c[i].ra, memory_order_acquire);
        if (k == ra) {
            uint64_t w = atomic_load_explicit(&c[i].rule, memory_order_acquire);
            return w ? word_rule(w) : rule_lookup(pc);
        }
        if (k)
            continue;
        rule r = rule_lookup(pc);
        uintptr_t empty = 0;
        if (atomic_compare_exchange_strong(&c[i].ra, &empty, ra))
            atomic_store_explicit(&c[i].rule, rule_word(r), memory_order_release);
        return r;
    }
    return rule_lookup(pc);
}

#else /* no CFI on this target: every frame is walked through its frame pointer */

rct_cfi_slot *_Atomic rct_cfi_cache; /* never made: every rule is the slow one */

rct_frame_rule rct_cfi_rule_slow(uintptr_t ra)
{
    (void)ra;
    return (rct_frame_rule){.cfa = RCT_CFA_FP};
}

#endif
