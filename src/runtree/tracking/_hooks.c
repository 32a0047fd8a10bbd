/* The tracking hooks in C: the common paths of runtime.py, at C speed.
 *
 * This module is an accelerator, not a second implementation. Each hook does in C exactly
 * what its Python twin in runtree/tracking/runtime.py does on the common path -- a plain call
 * recorded as a step, a call past the budget counted in its aggregate row -- and hands every
 * other case (generators, coroutines, the budget's reserve, promotions, errors, closing,
 * skipped hooks near the recursion limit) to the very same Python functions the pure-Python
 * runtime uses, with the same arguments. runtime.py chooses this module when it is built
 * (RUNTREE_TRACKING_RUNTIME=python|c overrides); the whole tracking suite runs on both.
 *
 * Record layout, Aggregate and CallPath fields: see records.py and budget.py. Fields of
 * Python objects with __slots__ are read through their member descriptors' offsets (looked
 * up once in configure()), falling back to getattr for any other type.
 *
 * Like the Python hooks: never raise into user code (a RecursionError from a Python helper
 * skips the hook, any other Exception is noted on the recording), never add a frame.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <time.h>

#define RECORD_SIZE 15
#define R_META 0
#define R_PARENT 1
#define R_DEPTH 2
#define R_ID 3
#define R_STATUS 4
#define R_T0 5
#define R_FAST 6
#define R_GEN 7
#define R_INPUTS 8
#define R_OUTPUT 9
#define R_REC 10
#define R_EXTRA 11
#define R_FRAME 13
#define R_PATH 14

#define FLAG_GENERATOR 1
#define FLAG_ASYNC 2

/* --- configuration (set once by configure()) ------------------------------------------ */

static PyObject *holder_var;       /* contextvars.ContextVar holding the holder list */
static PyObject *generator_records; /* dict: generator frame -> record */
static PyObject *immutable_types;  /* frozenset of types kept as they are */
static PyObject *snapshot_fn, *snapshot_one_fn;
static PyObject *true_parent_fn, *enter_slow_fn, *enter_special_fn, *internal_error_fn;
static PyObject *done_slow_fn, *exit_fn, *error_fn, *fail_fn;
static PyObject *skip_suspended_fn, *yield_fn, *resume_fn, *return_fn;
static PyObject *py_enter_fn; /* runtime.on_enter, for shapes the fast path does not know */
static PyObject *pickle_dumps;  /* _pickle.dumps: the C pickler, for small builtin values */
static PyObject *frozen_type;   /* capture.Frozen */
static PyObject *protocol;      /* the pickle protocol capture uses (5) */
static PyObject *nothing, *completed_str, *running_str, *zero, *minus_one;
static PyObject *str_aggregates;
static long fair_share;
static int scalar_shortcut; /* int, float, str, bool, None are all in immutable_types */

typedef struct {
    PyTypeObject *type; /* the class whose slot this is */
    Py_ssize_t offset;  /* of the slot in its instances, 0: use getattr */
    PyObject *name;
} Field;

static Field F_slots_left, F_reserve_left, F_max_depth, F_ids, F_records, F_policy, F_closed;
static Field F_count, F_active, F_errors, F_total_ns, F_children, F_row_parent, F_rows_left;
static Field F_row_meta, F_path_children, F_path_meta, F_kept, F_value_budget;

/* Whether obj.<field> is value (identity), without keeping a reference. */
static inline int field_is(PyObject *obj, Field *field, PyObject *value);

static int
field_init(Field *field, PyObject *type, const char *name)
{
    field->type = (PyTypeObject *)type;
    field->offset = 0;
    field->name = PyUnicode_InternFromString(name);
    if (field->name == NULL)
        return -1;
    PyObject *descr = PyObject_GetAttr(type, field->name);
    if (descr == NULL)
        return -1;
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type == T_OBJECT_EX && !(member->flags & READONLY))
            field->offset = member->offset;
    }
    Py_DECREF(descr);
    return 0;
}

/* A small int (counts, ids, depths, flags) as a C long without a call: the value of a
 * one-digit int is read directly (the layout each version documents), anything else goes
 * through PyLong_AsLong (-1 with an exception set on error). */
static inline long
fast_long(PyObject *obj)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (PyLong_CheckExact(obj) && PyUnstable_Long_IsCompact((PyLongObject *)obj))
        return (long)PyUnstable_Long_CompactValue((PyLongObject *)obj);
#else
    if (PyLong_CheckExact(obj)) {
        Py_ssize_t size = Py_SIZE(obj);
        if (size == 0)
            return 0;
        if (size == 1)
            return (long)((PyLongObject *)obj)->ob_digit[0];
        if (size == -1)
            return -(long)((PyLongObject *)obj)->ob_digit[0];
    }
#endif
    return PyLong_AsLong(obj);
}

/* An int that fits 64 bits (timestamps in ns): PyLong_AsLong is the fast conversion where
 * long has 64 bits. */
static inline long long
as_i64(PyObject *obj)
{
#if LONG_MAX >= 0x7fffffffffffffffLL
    return PyLong_AsLong(obj);
#else
    return PyLong_AsLongLong(obj);
#endif
}

/* A new reference to obj.<field>, or NULL with an exception set. */
static inline PyObject *
field_get(PyObject *obj, Field *field)
{
    if (field->offset && Py_TYPE(obj) == field->type) {
        PyObject *value = *(PyObject **)((char *)obj + field->offset);
        if (value != NULL)
            return Py_NewRef(value);
    }
    return PyObject_GetAttr(obj, field->name);
}

static inline int
field_set(PyObject *obj, Field *field, PyObject *value)
{
    if (field->offset && Py_TYPE(obj) == field->type) {
        PyObject **slot = (PyObject **)((char *)obj + field->offset);
        PyObject *old = *slot;
        *slot = Py_NewRef(value);
        Py_XDECREF(old);
        return 0;
    }
    return PyObject_SetAttr(obj, field->name, value);
}

static inline int
field_is(PyObject *obj, Field *field, PyObject *value)
{
    if (field->offset && Py_TYPE(obj) == field->type)
        return *(PyObject **)((char *)obj + field->offset) == value;
    PyObject *found = PyObject_GetAttr(obj, field->name);
    if (found == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_DECREF(found);
    return found == value;
}

/* obj.<field> as a C long (-1 with an exception set on error). */
static inline long
field_long(PyObject *obj, Field *field)
{
    if (field->offset && Py_TYPE(obj) == field->type) {
        PyObject *value = *(PyObject **)((char *)obj + field->offset);
        if (value != NULL)
            return fast_long(value);
    }
    PyObject *value = field_get(obj, field);
    if (value == NULL)
        return -1;
    long result = fast_long(value);
    Py_DECREF(value);
    return result;
}

/* Set the int obj to value in place, when nothing but the caller's slot can see it: it is
 * an exact int held by that one reference, one positive digit before and after, and not a
 * value CPython keeps cached (small ints are shared). A row's count grows by one per call
 * past the budget; a new int for each was a tenth of an aggregated call's cost. Returns 0
 * (nothing changed) when any condition does not hold. */
static inline int
set_in_place(PyObject *obj, long long value)
{
#ifdef Py_GIL_DISABLED
    return 0; /* (reference counts are not a single field there) */
#else
    if (!PyLong_CheckExact(obj) || Py_REFCNT(obj) != 1 || value <= 256 ||
        value >= ((long long)1 << PyLong_SHIFT))
        return 0;
#if PY_VERSION_HEX >= 0x030C0000
    PyLongObject *number = (PyLongObject *)obj;
    if (number->long_value.lv_tag != ((uintptr_t)1 << _PyLong_NON_SIZE_BITS))
        return 0; /* not one positive digit */
    number->long_value.ob_digit[0] = (digit)value;
#else
    if (Py_SIZE(obj) != 1)
        return 0;
    ((PyLongObject *)obj)->ob_digit[0] = (digit)value;
#endif
    return 1;
#endif
}

/* obj.<field> += delta; the new value in *updated_value when it is not NULL. */
static inline int
field_add_get(PyObject *obj, Field *field, long long delta, long long *updated_value)
{
    PyObject **slot = NULL;
    PyObject *value;
    if (field->offset && Py_TYPE(obj) == field->type &&
        *(PyObject **)((char *)obj + field->offset) != NULL) {
        slot = (PyObject **)((char *)obj + field->offset); /* the slot itself: no lookups */
        value = *slot;
    }
    else if ((value = field_get(obj, field)) == NULL) {
        return -1;
    }
    long long current = fast_long(value);
    if (slot == NULL)
        Py_DECREF(value);
    if (current == -1 && PyErr_Occurred())
        return -1;
    if (slot != NULL && set_in_place(value, current + delta)) {
        if (updated_value != NULL)
            *updated_value = current + delta;
        return 0;
    }
    PyObject *updated = PyLong_FromLongLong(current + delta);
    if (updated == NULL)
        return -1;
    if (updated_value != NULL)
        *updated_value = current + delta;
    if (slot != NULL) {
        *slot = updated; /* (our reference moves into the slot) */
        Py_DECREF(value);
        return 0;
    }
    int status = field_set(obj, field, updated);
    Py_DECREF(updated);
    return status;
}

static inline int
field_add(PyObject *obj, Field *field, long long delta)
{
    return field_add_get(obj, field, delta, NULL);
}

/* The truth of obj.<field> (a flag: True and False are told apart without a call), -1 on
 * error. */
static inline int
field_truth(PyObject *obj, Field *field)
{
    if (field->offset && Py_TYPE(obj) == field->type) {
        PyObject *value = *(PyObject **)((char *)obj + field->offset);
        if (value == Py_False)
            return 0;
        if (value == Py_True)
            return 1;
    }
    PyObject *value = field_get(obj, field);
    if (value == NULL)
        return -1;
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

/* --- small helpers ---------------------------------------------------------------------- */

static inline long long
now_ns(void)
{
    /* time.perf_counter_ns() on Linux: CLOCK_MONOTONIC (records mix both clocks' values) */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int
is_record(PyObject *obj)
{
    return PyList_CheckExact(obj) && PyList_GET_SIZE(obj) >= RECORD_SIZE;
}

#define ITEM(record, index) PyList_GET_ITEM((record), (index))

static inline void
put(PyObject *record, Py_ssize_t index, PyObject *value)
{
    /* record[index] = value (a new reference is taken) */
    PyObject *old = PyList_GET_ITEM(record, index);
    PyList_SET_ITEM(record, index, Py_NewRef(value));
    Py_XDECREF(old);
}

static inline int
is_immutable(PyObject *value)
{
    PyTypeObject *type = Py_TYPE(value);
    if (scalar_shortcut && (type == &PyLong_Type || type == &PyUnicode_Type ||
                            type == &PyFloat_Type || type == &PyBool_Type ||
                            value == Py_None))
        return 1;
    return PySet_Contains(immutable_types, (PyObject *)type); /* -1 on error */
}

/* Whether the cyclic garbage collector sees obj. */
static inline int
gc_tracked(PyObject *obj)
{
    /* (the type flag first: ints and strs, most items, are answered without two calls) */
    return PyType_IS_GC(Py_TYPE(obj)) && PyObject_IS_GC(obj) && PyObject_GC_IsTracked(obj);
}

/* What the collector itself does to a tuple that holds no tracked object, now rather than
 * after the tuple survived a collection: stop tracking it (it can never be part of a cycle).
 * Finished records are kept by the thousand; scanning them was most of a recorded call's
 * cost. One level of nested tuples is handled (a meta's parameter names). */
static void
untrack_atomic_tuple(PyObject *tuple, int nested)
{
    if (!PyTuple_CheckExact(tuple) || !PyObject_GC_IsTracked(tuple))
        return;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tuple); i++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        if (nested && PyTuple_CheckExact(item))
            untrack_atomic_tuple(item, 0);
        if (gc_tracked(item))
            return;
    }
    PyObject_GC_UnTrack(tuple);
}

static inline long
small_int(PyObject *obj)
{
    /* an int field of a record (ids, depths, flags); -1 with an error for anything else */
    return fast_long(obj);
}

/* The caller's frame (the instrumented function's): borrowed, or Py_None. Making it costs
 * a frame object per call (about a third of an aggregated call): the hot paths use the
 * call's address instead (below) and ask for the frame only where Python code needs it. */
static inline PyObject *
caller_frame(void)
{
    PyFrameObject *frame = PyEval_GetFrame();
    return frame != NULL ? (PyObject *)frame : Py_None;
}

/* --- call identity without a frame object ------------------------------------------------
 *
 * A record's FRAME (and FAST) says which call it belongs to. The Python hooks keep the call's
 * frame object there. The C hooks keep it for steps, but an aggregated call (the millions past
 * the budget) gets the address of its interpreter frame instead, as an int: making a frame
 * object and freeing it at the call's end was a third of such a call's cost.
 *
 * Both identify the running call exactly. A running call's interpreter frame (on the thread's
 * frame stack, or inside its generator) is where no other running call's is; a frame object
 * points at its call's interpreter frame while the call runs, and at storage of its own once
 * it ended (so a finished call's frame object is never taken for a running call). An address
 * outlives its call only in a record whose end hook did not run to its end. The C hooks end
 * an aggregated call that returns in C (done, exit), which cannot fail that way; one that
 * raises ends in runtime.on_fail, and if that runs out of stack at the recursion limit the
 * record stays current -- as it did with a frame object: runtime._close_unfinished_below
 * stops at aggregated records. Only then could a later call at the same address, whose own
 * enter hook was skipped too, end that record instead of leaving it.
 *
 * Python code compares FRAME with `is`: wherever the C hooks pass "the caller's frame" to it,
 * they pass the very object a record of the running call holds (call_identity below), so a
 * record with an address is found exactly as a record with a frame object is. */

/* Mirror of the first fields of CPython's struct _frame (pycore_frame.h, the same on 3.11,
 * 3.12 and 3.13): configure() checks the layout and turns addresses off if it differs. */
typedef struct {
    PyObject_HEAD
    PyObject *f_back;
    void *f_frame; /* the call's struct _PyInterpreterFrame */
} FrameHead;

static int addresses_on; /* the layout check passed: aggregated calls get addresses */
static int direct_fields; /* every field of Recording, Aggregate and CallPath has an offset */

/* address_int's table (below) */
#define KEY_SLOTS 256
static PyObject *key_ints[KEY_SLOTS];
static void *key_addresses[KEY_SLOTS];

/* The running call's interpreter frame (the instrumented function's: C functions push none). */
static inline void *
current_address(void)
{
    PyThreadState *tstate = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030D0000
    return (void *)tstate->current_frame;
#else
    return (void *)tstate->cframe->current_frame;
#endif
}

/* Which call a record's FRAME/FAST value stands for: the interpreter frame address, NULL for
 * anything else (None, the root's True). */
static inline void *
address_of(PyObject *identity)
{
    if (Py_IS_TYPE(identity, &PyFrame_Type))
        return ((FrameHead *)identity)->f_frame;
    if (PyLong_CheckExact(identity))
        return PyLong_AsVoidPtr(identity);
    return NULL;
}

/* Whether the record's FRAME/FAST value stands for the call at here (address or frame). */
static inline int
is_call(PyObject *identity, void *here)
{
    if (!addresses_on)
        return identity == here;
    if (PyLong_CheckExact(identity)) {
        size_t slot = ((size_t)here >> 4) % KEY_SLOTS; /* (address_int's table) */
        if (key_ints[slot] == identity)
            return key_addresses[slot] == here;
        return here != NULL && PyLong_AsVoidPtr(identity) == here;
    }
    return here != NULL && address_of(identity) == here;
}

/* The running call, as is_call compares it: its address, or (addresses off) its frame. */
static inline void *
here_now(void)
{
    return addresses_on ? current_address() : (void *)caller_frame();
}

/* The int a new aggregated record keeps for the call at here (a new reference). The same
 * address recurs call after call (a recursion revisits the same depths), so the ints are
 * kept in a small direct-mapped table rather than made and freed per call. */

static inline PyObject *
address_int(void *here)
{
    size_t slot = ((size_t)here >> 4) % KEY_SLOTS;
    if (key_addresses[slot] == here && key_ints[slot] != NULL)
        return Py_NewRef(key_ints[slot]);
    PyObject *key = PyLong_FromVoidPtr(here);
    if (key == NULL)
        return NULL;
    Py_XSETREF(key_ints[slot], Py_NewRef(key));
    key_addresses[slot] = here;
    return key;
}

/* What to pass as "the caller's frame" to the Python hooks (borrowed): the FRAME value of a
 * record of the running call when it holds an address (Python compares with `is`), else the
 * frame object. Only the holder's current record and those it was called from (or resumed
 * by) can be the running call's. */
static PyObject *
call_identity(PyObject *holder, void *here)
{
    if (addresses_on && holder != NULL && PyList_CheckExact(holder) &&
        PyList_GET_SIZE(holder) >= 1) {
        PyObject *node = PyList_GET_ITEM(holder, 0);
        for (int guard = 0; guard < 100000 && is_record(node); guard++) {
            PyObject *identity = ITEM(node, R_FRAME);
            if (PyLong_CheckExact(identity) && PyLong_AsVoidPtr(identity) == here)
                return identity;
            if (Py_IS_TYPE(identity, &PyFrame_Type) && address_of(identity) == here)
                break; /* its frame object: the one caller_frame() returns */
            PyObject *next = ITEM(node, R_GEN) != Py_None && is_record(ITEM(node, 12))
                                 ? ITEM(node, 12)
                                 : ITEM(node, R_PARENT);
            node = next;
        }
        PyErr_Clear(); /* (PyLong_AsVoidPtr cannot fail on an exact int, but be sure) */
    }
    return caller_frame();
}

/* The holder of this context (new reference), Py_None outside recordings, NULL on error. */
static inline PyObject *
get_holder(void)
{
    PyObject *holder = NULL;
    if (PyContextVar_Get(holder_var, Py_None, &holder) < 0)
        return NULL;
    if (holder != Py_None && !(PyList_CheckExact(holder) && PyList_GET_SIZE(holder) >= 1)) {
        Py_DECREF(holder);
        return Py_NewRef(Py_None);
    }
    return holder;
}

static PyObject *
call(PyObject *fn, PyObject *const *args, size_t nargs)
{
    return PyObject_Vectorcall(fn, args, nargs, NULL);
}

/* The exception being raised, taken (a new reference; the error indicator is cleared). */
static PyObject *
raised_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value != NULL && traceback != NULL)
        PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value != NULL ? value : Py_NewRef(Py_None);
#endif
}

/* The enter hook's "except RecursionError: return / except Exception as e: note it". */
static PyObject *
swallow(PyObject *parent)
{
    if (PyErr_ExceptionMatches(PyExc_RecursionError)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return NULL; /* KeyboardInterrupt, SystemExit ...: as the Python hook, let it go */
    PyObject *exc = raised_exception();
    PyObject *args[2] = {parent != NULL ? parent : Py_None, exc};
    PyObject *result = call(internal_error_fn, args, 2);
    Py_DECREF(exc);
    if (result == NULL)
        PyErr_Clear();
    Py_XDECREF(result);
    Py_RETURN_NONE;
}

/* "except RecursionError: pass; return value" (the return hooks). */
static PyObject *
value_unless_error(PyObject *value)
{
    if (PyErr_ExceptionMatches(PyExc_RecursionError)) {
        PyErr_Clear();
        return Py_NewRef(value);
    }
    return NULL;
}

/* --- small builtin values: capture.snapshot's result without its Python code ----------------
 *
 * capture.snapshot pickles a value with SafePickler, the C pickler with a reducer_override.
 * The C pickler writes None, bools, ints, floats, str, bytes and exact lists, tuples, dicts,
 * sets and frozensets itself, without calling reducer_override or any other code: for a value
 * made only of those, SafePickler's bytes are the C pickler's plain bytes (pickle.dumps, same
 * protocol; the memo is per dump in both). So a small such value is pickled here with one
 * call of _pickle.dumps, and the result is the very same snapshot (the tests compare the
 * bytes). Anything else, or anything larger, goes to capture.snapshot as before. */

#define SMALL_OBJECTS 64 /* objects a small value may hold, itself included; at most the
                          * smallest value budget (64), so no container of a small value
                          * has more items than the budget (capture.snapshot's first cut) */
#define SMALL_TEXT 4096  /* characters of str and bytes a small value may hold */
#define SMALL_DEPTH 8    /* nesting of containers (a cycle is deeper than any bound) */

/* Whether an int fits in a C long long without a call: at most two 30-bit digits (3.11's
 * layout), or a compact int (3.12+). Anything else is asked of PyLong_AsLongLongAndOverflow. */
static inline int
long_fits(PyObject *value)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)value))
        return 1;
#else
    Py_ssize_t digits = Py_SIZE(value);
    if (digits >= -2 && digits <= 2) /* (PyLong_SHIFT is 15 or 30: two digits fit) */
        return 1;
#endif
    int overflow = 0;
    long long ignored = PyLong_AsLongLongAndOverflow(value, &overflow);
    (void)ignored;
    return !overflow; /* (a huge int costs in proportion to its size) */
}

/* Whether a value that is not a container is small and of the types above: 1 or 0, and -1
 * for a container (or any other type: is_small_builtin decides). Inline, so that the items
 * of a container, mostly ints and strs, cost no call. */
static inline int
small_leaf(PyObject *value, Py_ssize_t *text)
{
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyLong_Type)
        return long_fits(value);
    if (type == &PyUnicode_Type) {
        *text -= PyUnicode_GET_LENGTH(value);
        return *text >= 0;
    }
    if (value == Py_None || type == &PyBool_Type || type == &PyFloat_Type)
        return 1;
    if (type == &PyBytes_Type) {
        *text -= PyBytes_GET_SIZE(value);
        return *text >= 0;
    }
    return -1;
}

static int is_small_builtin(PyObject *value, int depth, Py_ssize_t *objects, Py_ssize_t *text);

/* is_small_builtin for an item of a container at depth: a leaf is decided inline. */
static inline int
small_item(PyObject *item, int depth, Py_ssize_t *objects, Py_ssize_t *text)
{
    if (--*objects < 0)
        return 0;
    int leaf = small_leaf(item, text);
    if (leaf >= 0)
        return leaf;
    ++*objects; /* (is_small_builtin counts it) */
    return is_small_builtin(item, depth, objects, text);
}

/* Whether value is small and made only of the types above (it reads, runs no code). */
static int
is_small_builtin(PyObject *value, int depth, Py_ssize_t *objects, Py_ssize_t *text)
{
    if (--*objects < 0)
        return 0;
    int leaf = small_leaf(value, text);
    if (leaf >= 0)
        return leaf;
    if (depth >= SMALL_DEPTH)
        return 0;
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyTuple_Type || type == &PyList_Type) {
        Py_ssize_t size = Py_SIZE(value);
        if (size > *objects)
            return 0;
        PyObject **items = type == &PyTuple_Type ? ((PyTupleObject *)value)->ob_item
                                                 : ((PyListObject *)value)->ob_item;
        for (Py_ssize_t i = 0; i < size; i++) {
            if (!small_item(items[i], depth + 1, objects, text))
                return 0;
        }
        return 1;
    }
    if (type == &PyDict_Type) {
        if (PyDict_GET_SIZE(value) * 2 > *objects)
            return 0;
        Py_ssize_t position = 0;
        PyObject *key, *item;
        while (PyDict_Next(value, &position, &key, &item)) {
            if (!small_item(key, depth + 1, objects, text) ||
                !small_item(item, depth + 1, objects, text))
                return 0;
        }
        return 1;
    }
    return 0; /* sets too: walking them needs an iterator, and they are rare arguments */
}

/* The snapshot of values (a tuple) that capture.snapshot would make, when they are small
 * builtin values: a new reference to the pickle, Py_None (new reference) when capture.snapshot
 * must decide, NULL on error. Like capture.snapshot, the budget is per value. */
static PyObject *
small_snapshot(PyObject *values, PyObject *rec)
{
    Py_ssize_t objects = SMALL_OBJECTS, text = SMALL_TEXT;
    if (pickle_dumps == NULL || !is_small_builtin(values, -1, &objects, &text))
        return Py_NewRef(Py_None);
    PyObject *policy = field_get(rec, &F_policy);
    if (policy == NULL)
        return NULL;
    long budget = field_long(policy, &F_value_budget);
    Py_DECREF(policy);
    if (budget == -1 && PyErr_Occurred())
        return NULL;
    PyObject *args[2] = {values, protocol};
    PyObject *blob = call(pickle_dumps, args, 2);
    if (blob == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(values);
    if (!PyBytes_CheckExact(blob) || PyBytes_GET_SIZE(blob) > budget * (count ? count : 1)) {
        /* over the budget (only with a budget under SMALL_TEXT): capture.snapshot cuts it */
        Py_DECREF(blob);
        return Py_NewRef(Py_None);
    }
    return blob;
}

/* capture.snapshot(values, policy), the small builtin values without a Python call. */
static PyObject *
capture_all(PyObject *values, PyObject *rec)
{
    PyObject *blob = small_snapshot(values, rec);
    if (blob != Py_None)
        return blob;
    Py_DECREF(blob);
    PyObject *policy = field_get(rec, &F_policy);
    if (policy == NULL)
        return NULL;
    PyObject *args[2] = {values, policy};
    PyObject *result = call(snapshot_fn, args, 2);
    Py_DECREF(policy);
    return result;
}

/* A captured value: the value itself when immutable, else snapshot_one(value, policy). */
static PyObject *
capture_one(PyObject *value, PyObject *rec)
{
    int immutable = is_immutable(value);
    if (immutable < 0)
        return NULL;
    if (immutable)
        return Py_NewRef(value);
    PyObject *values = PyTuple_Pack(1, value);
    if (values == NULL)
        return NULL;
    PyObject *blob = small_snapshot(values, rec);
    Py_DECREF(values);
    if (blob == NULL)
        return NULL;
    if (blob != Py_None) { /* snapshot_one: Frozen(snapshot((value,), policy)) */
        PyObject *frozen = call(frozen_type, &blob, 1);
        Py_DECREF(blob);
        return frozen;
    }
    Py_DECREF(blob);
    PyObject *policy = field_get(rec, &F_policy);
    if (policy == NULL)
        return NULL;
    PyObject *args[2] = {value, policy};
    PyObject *result = call(snapshot_one_fn, args, 2);
    Py_DECREF(policy);
    return result;
}

/* --- records -------------------------------------------------------------------------------- */

/* Lists of RECORD_SIZE Nones, kept from records that ended with no reference left but ours:
 * a call's record costs no allocation (most calls end before the next one starts). */
#define SPARE_RECORDS 64
static PyObject *spare_records[SPARE_RECORDS];
static int spare_count;

/* A new record (a list of RECORD_SIZE Nones), or NULL with an exception set. */
static PyObject *
new_record(void)
{
    if (spare_count > 0)
        return spare_records[--spare_count];
    PyObject *record = PyList_New(RECORD_SIZE);
    if (record != NULL) {
        for (Py_ssize_t i = 0; i < RECORD_SIZE; i++)
            PyList_SET_ITEM(record, i, Py_NewRef(Py_None));
    }
    return record;
}

/* Drop our reference to a record that has ended: kept for reuse when it was the last one. */
static void
drop_record(PyObject *record)
{
    if (Py_REFCNT(record) == 1 && spare_count < SPARE_RECORDS && PyList_CheckExact(record) &&
        PyList_GET_SIZE(record) == RECORD_SIZE) {
        for (Py_ssize_t i = 0; i < RECORD_SIZE; i++) {
            if (ITEM(record, i) != Py_None)
                put(record, i, Py_None);
        }
        if (Py_REFCNT(record) == 1) { /* (clearing ran no code that kept it, but be sure) */
            spare_records[spare_count++] = record;
            return;
        }
    }
    Py_DECREF(record);
}

/* Aggregated calls' records, kept the same way but with their constant fields in place (ID
 * -1, INPUTS False -- the failed flag --, None elsewhere). Of the eight fields that vary per
 * call, the four that reach the recording's objects (parent record, row, recording, call
 * path) are cleared when a record is kept; the meta, depth, start and call address stay (a
 * constant tuple and three ints: nothing is kept alive by them) and are written only when
 * the next call's differ -- in a recursion they seldom do. */
static PyObject *spare_aggregated[SPARE_RECORDS];
static int spare_aggregated_count;
static const Py_ssize_t AGGREGATED_CLEARED[4] = {R_PARENT, R_STATUS, R_REC, R_PATH};

/* record[index] = value, taking our reference to value, without a write when it is there. */
static inline void
replace(PyObject *record, Py_ssize_t index, PyObject *value)
{
    PyObject *old = ITEM(record, index);
    if (old == value) {
        Py_DECREF(value);
        return;
    }
    PyList_SET_ITEM(record, index, value);
    Py_DECREF(old);
}

/* A new aggregated call's record (a new reference, NULL on error); takes the references
 * depth, t0 and identity (the others are borrowed). */
static PyObject *
new_aggregated(PyObject *meta, PyObject *parent, PyObject *depth, PyObject *row, PyObject *t0,
               PyObject *rec, PyObject *identity, PyObject *path)
{
    PyObject *record;
    if (spare_aggregated_count > 0) {
        record = spare_aggregated[--spare_aggregated_count];
    }
    else if ((record = new_record()) != NULL) {
        put(record, R_ID, minus_one);
        put(record, R_INPUTS, Py_False);
    }
    if (record == NULL) {
        Py_DECREF(depth);
        Py_DECREF(t0);
        Py_DECREF(identity);
        return NULL;
    }
    replace(record, R_META, Py_NewRef(meta));
    replace(record, R_DEPTH, depth);
    replace(record, R_T0, t0);
    replace(record, R_FRAME, identity);
    /* the cleared fields hold None here */
    PyObject *items[4] = {Py_NewRef(parent), Py_NewRef(row), Py_NewRef(rec), Py_NewRef(path)};
    for (int i = 0; i < 4; i++) {
        PyList_SET_ITEM(record, AGGREGATED_CLEARED[i], items[i]);
        Py_DECREF(Py_None);
    }
    return record;
}

/* drop_record for an aggregated call's record: into spare_aggregated when nothing else holds
 * it and its constant fields are intact (promote() rewrites them, but a promoted record is
 * never dropped here). */
static void
drop_aggregated(PyObject *record)
{
    if (Py_REFCNT(record) != 1 || spare_aggregated_count >= SPARE_RECORDS ||
        !PyList_CheckExact(record) || PyList_GET_SIZE(record) != RECORD_SIZE ||
        ITEM(record, R_ID) != minus_one || ITEM(record, R_INPUTS) != Py_False ||
        ITEM(record, R_FAST) != Py_None || ITEM(record, R_GEN) != Py_None ||
        ITEM(record, R_OUTPUT) != Py_None || ITEM(record, R_EXTRA) != Py_None ||
        ITEM(record, 12) != Py_None) {
        if (PyList_CheckExact(record) && PyList_GET_SIZE(record) >= RECORD_SIZE) {
            put(record, R_FAST, Py_None); /* (runtime._finish: an ended call keeps no frame) */
            put(record, R_FRAME, Py_None);
        }
        drop_record(record);
        return;
    }
    for (int i = 0; i < 4; i++) {
        Py_ssize_t index = AGGREGATED_CLEARED[i];
        PyObject *old = ITEM(record, index);
        if (old != Py_None) {
            PyList_SET_ITEM(record, index, Py_NewRef(Py_None));
            Py_DECREF(old);
        }
    }
    if (Py_REFCNT(record) == 1 && spare_aggregated_count < SPARE_RECORDS) {
        spare_aggregated[spare_aggregated_count++] = record;
        return;
    }
    put(record, R_FRAME, Py_None);
    Py_DECREF(record);
}

/* --- aggregated calls --------------------------------------------------------------------- */

/* An aggregated call ends (runtime._finish for ID -1 records, rec not closed). The clock is
 * read only when the row's time changes: when its outermost running call ends. */
static int
finish_aggregated(PyObject *holder, PyObject *record)
{
    Py_INCREF(record);
    int status = -1;
    PyObject *row = ITEM(record, R_STATUS);
    long long active; /* (FAST and FRAME: drop_aggregated clears them unless it keeps it) */
    if (field_add_get(row, &F_active, -1, &active) < 0)
        goto done;
    if (active == 0) {
        long long end = now_ns();
        long long t0 = as_i64(ITEM(record, R_T0));
        if (t0 == -1 && PyErr_Occurred())
            goto done;
        if (field_add(row, &F_total_ns, end - t0) < 0)
            goto done;
    }
    PyObject *failed_flag = ITEM(record, R_INPUTS); /* a bool for aggregated calls */
    int failed = failed_flag == Py_False ? 0 : PyObject_IsTrue(failed_flag);
    if (failed < 0 || (failed && field_add(row, &F_errors, 1) < 0))
        goto done;
    put(holder, 0, ITEM(record, R_PARENT));
    status = 0;
done:
    drop_aggregated(record);
    return status;
}

/* The row a call of meta under parent counts in, when it already exists (borrowed), or NULL
 * without an exception: then the Python path creates it (budget.aggregate_row). */
static PyObject *
existing_row(PyObject *parent, PyObject *meta, long parent_id, PyObject *rec)
{
    if (parent_id == -1) {
        PyObject *row = ITEM(parent, R_STATUS);
        if (field_is(row, &F_row_meta, meta))
            return row; /* recursion collapsed: what budget.aggregate_row finds first */
        PyObject *children = field_get(row, &F_children);
        if (children == NULL) {
            PyErr_Clear();
            return NULL;
        }
        PyObject *found = PyDict_CheckExact(children) ? PyDict_GetItemWithError(children, meta)
                                                      : NULL;
        int has_children = PyDict_CheckExact(children);
        Py_DECREF(children); /* the row keeps it alive, and so the found row */
        if (found == NULL)
            PyErr_Clear();
        if (found != NULL || !has_children)
            return found;
        /* budget.aggregate_row past the rows cap, which it does not cache: no ancestor row of
         * this function -> the caller's row (an ancestor's is found and cached in Python) */
        long rows_left = field_long(rec, &F_rows_left);
        if (rows_left == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return NULL;
        }
        if (rows_left > 0)
            return NULL;
        PyObject *ancestor = Py_NewRef(row);
        while (ancestor != Py_None) {
            if (field_is(ancestor, &F_row_meta, meta)) {
                Py_DECREF(ancestor);
                return NULL;
            }
            PyObject *next = field_get(ancestor, &F_row_parent);
            Py_DECREF(ancestor);
            if (next == NULL) {
                PyErr_Clear();
                return NULL;
            }
            ancestor = next;
        }
        Py_DECREF(ancestor);
        return row;
    }
    PyObject *extra = ITEM(parent, R_EXTRA);
    if (!PyDict_CheckExact(extra))
        return NULL;
    PyObject *rows = PyDict_GetItemWithError(extra, str_aggregates);
    if (rows == NULL || !PyDict_CheckExact(rows)) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *found = PyDict_GetItemWithError(rows, meta);
    if (found == NULL)
        PyErr_Clear();
    return found;
}

/* _enter_slow's common case in C: the reserve cannot make this call a step, and its row
 * exists. Returns 1 when done, 0 to hand the call to the Python path, -1 on error. */
static int
aggregate_fast(PyObject *meta, PyObject *holder, PyObject *parent, PyObject *rec,
               void *here, long parent_id, long depth, long max_depth)
{
    PyObject *path = Py_None;
    long reserve_left = field_long(rec, &F_reserve_left);
    if (reserve_left == -1 && PyErr_Occurred())
        return -1;
    if (reserve_left > 0 && depth < max_depth) {
        /* would the reserve want it? (budget: a new path's first calls, cross-module calls) */
        PyObject *parent_path = ITEM(parent, R_PATH);
        if (parent_path == Py_None)
            return 0;
        if (field_is(parent_path, &F_path_meta, meta)) {
            path = parent_path; /* recursion collapsed: what budget.child_path finds first */
        }
        else {
            PyObject *children = field_get(parent_path, &F_path_children);
            if (children == NULL)
                return -1;
            path = PyDict_CheckExact(children) ? PyDict_GetItemWithError(children, meta) : NULL;
            Py_DECREF(children);
            if (path == NULL)
                return PyErr_Occurred() ? -1 : 0;
        }
        long kept = field_long(path, &F_kept);
        if (kept == -1 && PyErr_Occurred())
            return -1;
        if (kept < fair_share)
            return 0;
        PyObject *caller = ITEM(parent, R_META);
        if (caller != Py_None) {
            if (!PyTuple_CheckExact(caller) || PyTuple_GET_SIZE(caller) < 2 ||
                !PyTuple_CheckExact(meta) || PyTuple_GET_SIZE(meta) < 5)
                return 0;
            PyObject *caller_module = PyTuple_GET_ITEM(caller, 1);
            PyObject *module = PyTuple_GET_ITEM(meta, 1);
            int same = caller_module == module
                           ? 1
                           : PyObject_RichCompareBool(caller_module, module, Py_EQ);
            if (same <= 0)
                return same; /* another module: the reserve keeps it (Python path) */
        }
    }
    PyObject *row = existing_row(parent, meta, parent_id, rec);
    if (row == NULL)
        return 0;
    Py_INCREF(row);
    long flags = small_int(PyTuple_GET_ITEM(meta, 4));
    int status = -1;
    if (flags == -1 && PyErr_Occurred())
        goto done;
    if (field_add(row, &F_count, 1) < 0)
        goto done;
    if (flags & (FLAG_GENERATOR | FLAG_ASYNC)) {
        status = 1; /* can suspend anywhere, so never current: counted, not timed */
        goto done;
    }
    long long active;
    if (field_add_get(row, &F_active, 1, &active) < 0)
        goto done;
    /* (as runtime._aggregate) a call nested in a running call of its row starts its record
     * with its caller's start: only the outermost call's times make the row's total */
    PyObject *t0 = active > 1 ? Py_NewRef(ITEM(parent, R_T0)) : PyLong_FromLongLong(now_ns());
    PyObject *child_depth = PyLong_FromLong(depth + 1);
    PyObject *identity = addresses_on ? address_int(here) : Py_NewRef((PyObject *)here);
    if (t0 == NULL || child_depth == NULL || identity == NULL) {
        Py_XDECREF(t0);
        Py_XDECREF(child_depth);
        Py_XDECREF(identity);
        goto done;
    }
    PyObject *record = new_aggregated(meta, parent, child_depth, row, t0, rec, identity, path);
    if (record == NULL)
        goto done;
    PyObject *old = PyList_GET_ITEM(holder, 0);
    PyList_SET_ITEM(holder, 0, record);
    Py_DECREF(old);
    status = 1;
done:
    Py_DECREF(row);
    return status;
}

/* --- enter --------------------------------------------------------------------------------- */

/* runtime._true_parent(parent, frame) (a new reference, NULL on error). It compares the
 * caller's frame object with the FRAME of the parent (after skipping suspended generators'
 * records): a parent holding an address (an aggregated call made here, or one promoted to a
 * step) is handled here instead, as _running_generator_between does -- the nearest recorded
 * generator frame of the same recording between the caller and the parent's call, else the
 * parent; the resumers of the generators found there are noted as it notes them. *skipped
 * is set when runtime._skip_suspended ran: it may have changed this context's holder. */
static PyObject *
true_parent_of(PyObject *parent, int *skipped)
{
    PyObject *node = Py_NewRef(parent);
    PyObject *gen = ITEM(node, R_GEN);
    if (gen != Py_None) {
        /* What _true_parent answers without its two calls when the generator or coroutine is
         * running (its frame has a caller: nothing to skip) and there is no walk to make: no
         * other instrumented generator is alive (an asyncio coroutine's calls), or it is the
         * caller itself (a call from its own body). */
        if (Py_IS_TYPE(gen, &PyFrame_Type) && ITEM(node, R_FRAME) == gen) {
            PyFrameObject *caller;
            if (!PyDict_GET_SIZE(generator_records)) {
                caller = PyFrame_GetBack((PyFrameObject *)gen); /* (not the callee's frame:
                                                                  * no frame object made) */
            }
            else {
                PyFrameObject *frame = PyEval_GetFrame();
                caller = frame != NULL ? PyFrame_GetBack(frame) : NULL;
                if (caller != NULL && (PyObject *)caller != gen)
                    Py_CLEAR(caller);
            }
            if (caller != NULL) {
                Py_DECREF(caller);
                return node;
            }
        }
        *skipped = 1; /* (_skip_suspended may give a coroutine's holder back) */
        Py_SETREF(node, call(skip_suspended_fn, &parent, 1));
        if (node == NULL)
            return NULL;
    }
    if (!(addresses_on && is_record(node) && PyLong_CheckExact(ITEM(node, R_FRAME)))) {
        /* (_skip_suspended again in there: a no-op on a record it returned) */
        PyObject *call_args[2] = {node, caller_frame()};
        PyObject *result = call(true_parent_fn, call_args, 2);
        Py_DECREF(node);
        return result;
    }
    if (!PyDict_GET_SIZE(generator_records))
        return node;
    void *stop = PyLong_AsVoidPtr(ITEM(node, R_FRAME));
    PyObject *rec = ITEM(node, R_REC);
    PyFrameObject *frame = PyEval_GetFrame();
    PyFrameObject *caller = frame != NULL ? PyFrame_GetBack(frame) : NULL;
    /* the nearest such generator, and the last one found: the resumers are noted on the way */
    PyObject *found = NULL, *last = NULL;
    while (caller != NULL && address_of((PyObject *)caller) != stop) {
        PyObject *record = PyDict_GetItemWithError(generator_records, (PyObject *)caller);
        if (record == NULL && PyErr_Occurred()) {
            Py_DECREF(caller);
            Py_XDECREF(found);
            Py_XDECREF(last);
            Py_DECREF(node);
            return NULL;
        }
        if (record != NULL && record != node && is_record(record) && ITEM(record, R_REC) == rec) {
            if (last == NULL)
                found = Py_NewRef(record);
            else
                put(last, 12, record); /* RESUMER */
            Py_XSETREF(last, Py_NewRef(record));
        }
        PyFrameObject *back = PyFrame_GetBack(caller);
        Py_DECREF(caller);
        caller = back;
    }
    Py_XDECREF(caller);
    if (last == NULL)
        return node;
    put(last, 12, node); /* RESUMER */
    Py_DECREF(last);
    Py_DECREF(node);
    return found;
}

/* obj.<field> for a field read through its offset (direct_fields): borrowed, maybe NULL. */
#define SLOT(obj, field) (*(PyObject **)((char *)(obj) + (field).offset))

/* The commonest call past the budget: a recursive call of an aggregated call, which counts
 * in its caller's row. What enter_past_budget and aggregate_fast do for it, with what is
 * known already: the caller is a plain call of the same function (generators and coroutines
 * past the budget get no record), so this call is plain, in the caller's module, and starts
 * while a call of its row runs (it takes that call's start). 1: done, 0: not this case
 * (nothing was changed), -1: error. */
static int
enter_recursive(PyObject *meta, PyObject *holder, PyObject *parent, void *here)
{
    if (!direct_fields || !addresses_on || !is_record(parent) ||
        ITEM(parent, R_ID) != minus_one || ITEM(parent, R_META) != meta ||
        ITEM(parent, R_GEN) != Py_None || PyDict_GET_SIZE(generator_records))
        return 0;
    PyObject *rec = ITEM(parent, R_REC);
    PyObject *row = ITEM(parent, R_STATUS);
    if (Py_TYPE(rec) != F_closed.type || Py_TYPE(row) != F_row_meta.type ||
        SLOT(rec, F_closed) != Py_False || SLOT(row, F_row_meta) != meta)
        return 0; /* (closed: the general path does nothing) */
    PyObject *reserve = SLOT(rec, F_reserve_left), *depth_obj = ITEM(parent, R_DEPTH);
    PyObject *max_depth_obj = SLOT(rec, F_max_depth);
    PyObject **count_slot = &SLOT(row, F_count), **active_slot = &SLOT(row, F_active);
    if (reserve == NULL || max_depth_obj == NULL || *count_slot == NULL || *active_slot == NULL)
        return 0;
    long reserve_left = fast_long(reserve), depth = fast_long(depth_obj);
    long max_depth = fast_long(max_depth_obj);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    PyObject *path = Py_None;
    if (reserve_left > 0 && depth < max_depth) {
        /* would the reserve want it? (budget: a call path's first calls) */
        path = ITEM(parent, R_PATH);
        if (Py_TYPE(path) != F_kept.type || SLOT(path, F_path_meta) != meta ||
            SLOT(path, F_kept) == NULL)
            return 0;
        long kept = fast_long(SLOT(path, F_kept));
        if (kept == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (kept < fair_share)
            return 0;
    }
    long long active;
    if (field_add(row, &F_count, 1) < 0 || field_add_get(row, &F_active, 1, &active) < 0)
        return -1;
    PyObject *t0 = active > 1 ? Py_NewRef(ITEM(parent, R_T0)) : PyLong_FromLongLong(now_ns());
    PyObject *child_depth = PyLong_FromLong(depth + 1);
    PyObject *identity = address_int(here);
    if (t0 == NULL || child_depth == NULL || identity == NULL) {
        Py_XDECREF(t0);
        Py_XDECREF(child_depth);
        Py_XDECREF(identity);
        return -1;
    }
    PyObject *record = new_aggregated(meta, parent, child_depth, row, t0, rec, identity, path);
    if (record == NULL)
        return -1;
    PyObject *old = PyList_GET_ITEM(holder, 0);
    PyList_SET_ITEM(holder, 0, record);
    Py_DECREF(old);
    return 1;
}

/* The common case of a call past the budget, before anything needs its arguments: 1 when it
 * is done (counted in its row, or nothing to do: the recording is closed), 0 when the caller
 * must go on with the arguments (a step, or a case for runtime.py), -1 on error. Leaves the
 * call's true parent in *parent_ref (a record, or the caller goes to runtime.on_enter), and
 * the holder to put its record in in *holder_ref. */
static int
enter_past_budget(PyObject *meta, PyObject **holder_ref, PyObject **parent_ref, void *here)
{
    PyObject *parent = *parent_ref;
    if (!is_record(parent))
        return 0;
    /* runtime._true_parent changes nothing unless the parent is a generator's or coroutine's
     * record or instrumented generators are alive */
    if (ITEM(parent, R_GEN) != Py_None || PyDict_GET_SIZE(generator_records)) {
        int skipped = 0;
        PyObject *true_parent = true_parent_of(parent, &skipped);
        if (true_parent == NULL)
            return -1;
        Py_SETREF(*parent_ref, true_parent);
        parent = true_parent;
        if (skipped) {
            /* a coroutine left by a driver gives its holder back (runtime._skip_suspended) */
            PyObject *holder = get_holder();
            if (holder == NULL)
                return -1;
            Py_SETREF(*holder_ref, holder);
            if (holder == Py_None)
                return 1; /* (cannot be: the enclosing holder is a list; but never crash) */
        }
        if (!is_record(parent))
            return 0;
    }
    PyObject *rec = ITEM(parent, R_REC);
    long slots_left = field_long(rec, &F_slots_left);
    if (slots_left == -1 && PyErr_Occurred())
        return -1;
    long parent_id = small_int(ITEM(parent, R_ID));
    long depth = small_int(ITEM(parent, R_DEPTH));
    long max_depth = field_long(rec, &F_max_depth);
    if (PyErr_Occurred())
        return -1;
    if (slots_left > 0 && parent_id >= 0 && depth < max_depth)
        return 0; /* a step from the general pool */
    int is_closed = field_truth(rec, &F_closed);
    if (is_closed < 0)
        return -1;
    if (is_closed)
        return 1;
    return aggregate_fast(meta, *holder_ref, parent, rec, here, parent_id, depth, max_depth);
}

/* The rest of runtime.on_enter for a call whose true parent is the record parent, with its
 * arguments as a tuple: a step, or runtime.py's slow paths. */
static PyObject *
enter_body(PyObject *meta, PyObject *args, PyObject *holder, PyObject *parent)
{
    PyObject *rec = ITEM(parent, R_REC);
    long slots_left = field_long(rec, &F_slots_left);
    if (slots_left == -1 && PyErr_Occurred())
        return NULL;
    long parent_id = small_int(ITEM(parent, R_ID));
    long depth = small_int(ITEM(parent, R_DEPTH));
    long max_depth = field_long(rec, &F_max_depth);
    if (PyErr_Occurred())
        return NULL;
    if (slots_left <= 0 || parent_id < 0 || depth >= max_depth) {
        /* (enter_past_budget did not count it: the reserve may want it, or a row is new) */
        PyObject *slow_args[6] = {meta, holder, parent, rec, args, caller_frame()};
        return call(enter_slow_fn, slow_args, 6);
    }
    if (!PyTuple_CheckExact(meta) || PyTuple_GET_SIZE(meta) < 5) { /* (hook_enter checks it) */
        PyErr_SetString(PyExc_TypeError, "enter(): meta is not a function's meta tuple");
        return NULL;
    }
    long flags = small_int(PyTuple_GET_ITEM(meta, 4));
    if (flags == -1 && PyErr_Occurred())
        return NULL;
    if (flags) {
        PyObject *special_args[7] = {meta, holder, parent, rec, args, PyTuple_GET_ITEM(meta, 4),
                                     caller_frame()};
        PyObject *result = call(enter_special_fn, special_args, 7);
        if (result == NULL)
            return NULL;
        Py_DECREF(result);
        if (field_add(rec, &F_slots_left, -1) < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *inputs = args;
    Py_ssize_t index = PyTuple_GET_SIZE(args);
    while (index--) {
        int immutable = is_immutable(PyTuple_GET_ITEM(args, index));
        if (immutable < 0)
            return NULL;
        if (!immutable) {
            inputs = capture_all(args, rec);
            if (inputs == NULL)
                return NULL;
            break;
        }
    }
    if (inputs == args)
        Py_INCREF(inputs);
    PyObject *record = new_record();
    PyObject *child_depth = PyLong_FromLong(depth + 1);
    PyObject *frame = caller_frame(); /* a step keeps its frame object (see "call identity") */
    PyObject *t0 = PyLong_FromLongLong(now_ns());
    if (record == NULL || child_depth == NULL || t0 == NULL) {
        Py_XDECREF(record);
        Py_XDECREF(child_depth);
        Py_XDECREF(t0);
        Py_DECREF(inputs);
        return NULL;
    }
    PyObject *items[RECORD_SIZE] = {meta, parent, child_depth, zero, running_str,
                                    t0, frame, Py_None, inputs, nothing, rec, Py_None, Py_None,
                                    frame, Py_None};
    for (Py_ssize_t i = 0; i < RECORD_SIZE; i++)
        put(record, i, items[i]);
    Py_DECREF(child_depth);
    Py_DECREF(t0);
    Py_DECREF(inputs);
    /* the last calls that can fail: from here on no id is used up by a failed hook */
    PyObject *ids = field_get(rec, &F_ids);
    PyObject *ident = ids != NULL ? PyIter_Next(ids) : NULL;
    Py_XDECREF(ids);
    if (ident == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "the recording's step ids ran out");
        Py_DECREF(record);
        return NULL;
    }
    put(record, R_ID, ident);
    PyObject *records = field_get(rec, &F_records);
    int failed = records == NULL || field_add(rec, &F_slots_left, -1) < 0 ||
                 PyObject_SetItem(records, ident, record) < 0;
    Py_XDECREF(records);
    Py_DECREF(ident);
    if (failed) {
        Py_DECREF(record);
        return NULL;
    }
    PyObject *old = PyList_GET_ITEM(holder, 0);
    PyList_SET_ITEM(holder, 0, record);
    Py_DECREF(old);
    Py_RETURN_NONE;
}

/* enter(meta, *args): the instrumented code passes the call's parameters one by one, so a
 * call past the budget, which never looks at them, makes no tuple. */
static PyObject *
hook_enter(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "enter(meta, *args)");
        return NULL;
    }
    PyObject *meta = args[0];
    PyObject *holder = get_holder();
    if (holder == NULL)
        return swallow(NULL);
    if (holder == Py_None)
        return holder;
    PyObject *parent = Py_NewRef(PyList_GET_ITEM(holder, 0));
    PyObject *result = NULL;
    void *here = here_now();
    int done = enter_recursive(meta, holder, parent, here);
    if (done == 0)
        done = enter_past_budget(meta, &holder, &parent, here);
    if (done > 0) {
        result = Py_NewRef(Py_None);
    }
    else if (done == 0 && is_record(parent) && PyTuple_CheckExact(meta) &&
             PyTuple_GET_SIZE(meta) >= 5) {
        PyObject *values = PyTuple_New(nargs - 1);
        if (values != NULL) {
            for (Py_ssize_t i = 1; i < nargs; i++)
                PyTuple_SET_ITEM(values, i - 1, Py_NewRef(args[i]));
            result = enter_body(meta, values, holder, parent);
            Py_DECREF(values);
        }
    }
    else if (done == 0) {
        /* not a shape the fast path knows: runtime.on_enter does all of it */
        result = PyObject_Vectorcall(py_enter_fn, args, nargs, NULL);
    }
    if (result == NULL)
        result = swallow(parent);
    Py_DECREF(parent);
    Py_DECREF(holder);
    return result;
}

/* --- return and finish ------------------------------------------------------------------- */

static PyObject *
done_body(PyObject *meta, PyObject *value)
{
    PyObject *holder = get_holder();
    if (holder == NULL)
        return NULL;
    if (holder == Py_None)
        return holder;
    PyObject *record = PyList_GET_ITEM(holder, 0);
    void *here = here_now();
    if (!is_record(record) || !is_call(ITEM(record, R_FAST), here)) {
        /* not a plain call's own record: an aggregated call's, or the general path */
        if (is_record(record) && ITEM(record, R_GEN) == Py_None &&
            is_call(ITEM(record, R_FRAME), here) &&
            (ITEM(record, R_ID) == minus_one || small_int(ITEM(record, R_ID)) == -1)) {
            PyObject *rec = ITEM(record, R_REC);
            int is_closed = field_truth(rec, &F_closed);
            int status = is_closed < 0 ? -1 : is_closed ? 0 : finish_aggregated(holder, record);
            Py_DECREF(holder);
            return status < 0 ? NULL : Py_NewRef(Py_None);
        }
        PyErr_Clear(); /* small_int on a non-record */
        PyObject *end_obj = PyLong_FromLongLong(now_ns());
        if (end_obj == NULL) {
            Py_DECREF(holder);
            return NULL;
        }
        Py_INCREF(record);
        PyObject *slow_args[6] = {holder, record, meta, value, call_identity(holder, here),
                                  end_obj};
        PyObject *result = call(done_slow_fn, slow_args, 6);
        Py_DECREF(record);
        Py_DECREF(end_obj);
        Py_DECREF(holder);
        return result;
    }
    long long end = now_ns();
    Py_INCREF(record);
    PyObject *rec = ITEM(record, R_REC);
    PyObject *result = NULL;
    PyObject *output = capture_one(value, rec);
    if (output == NULL)
        goto done;
    PyObject *parent = Py_NewRef(ITEM(record, R_PARENT));
    PyObject *ident = Py_NewRef(ITEM(record, R_ID));
    put(record, R_FAST, Py_None);
    put(record, R_FRAME, Py_None);
    put(record, R_STATUS, completed_str);
    put(holder, 0, parent);
    PyObject *t0 = ITEM(record, R_T0);
    long long start = as_i64(t0);
    PyObject *parent_id = is_record(parent) ? ITEM(parent, R_ID) : Py_None;
    int parent_zero = parent_id == Py_None ? 1 : PyObject_Not(parent_id);
    PyObject *duration = PyLong_FromLongLong(end - start);
    PyObject *records = field_get(rec, &F_records);
    PyObject *finished = NULL;
    if (duration != NULL && records != NULL && parent_zero >= 0 && !PyErr_Occurred()) {
        finished = PyTuple_New(RECORD_SIZE);
    }
    if (finished != NULL) {
        PyObject *items[RECORD_SIZE] = {meta, parent_zero ? Py_None : parent_id,
                                        ITEM(record, R_DEPTH), ident, completed_str, t0,
                                        duration, Py_None, ITEM(record, R_INPUTS), output,
                                        Py_None, ITEM(record, R_EXTRA), Py_None, Py_None,
                                        Py_None};
        for (Py_ssize_t i = 0; i < RECORD_SIZE; i++)
            PyTuple_SET_ITEM(finished, i, Py_NewRef(items[i]));
        untrack_atomic_tuple(meta, 1);
        untrack_atomic_tuple(ITEM(record, R_INPUTS), 1);
        untrack_atomic_tuple(finished, 0);
        if (PyObject_SetItem(records, ident, finished) == 0)
            result = Py_NewRef(Py_None);
        Py_DECREF(finished);
    }
    Py_XDECREF(duration);
    Py_XDECREF(records);
    Py_DECREF(parent);
    Py_DECREF(ident);
    Py_DECREF(output);
done:
    drop_record(record);
    Py_DECREF(holder);
    return result;
}

static PyObject *
hook_done(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "done(meta, value)");
        return NULL;
    }
    PyObject *result = done_body(args[0], args[1]);
    if (result == NULL)
        return value_unless_error(args[1]);
    Py_DECREF(result);
    return Py_NewRef(args[1]);
}

static PyObject *
hook_return(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "return(meta, value)");
        return NULL;
    }
    PyObject *meta = args[0], *value = args[1];
    PyObject *holder = get_holder();
    if (holder == NULL)
        return value_unless_error(value);
    if (holder == Py_None) {
        Py_DECREF(holder);
        return Py_NewRef(value);
    }
    PyObject *record = Py_NewRef(PyList_GET_ITEM(holder, 0));
    Py_DECREF(holder);
    if (is_record(record) && ITEM(record, R_GEN) != Py_None) {
        PyObject *resumer = call(skip_suspended_fn, &record, 1);
        Py_SETREF(record, resumer);
        if (record == NULL)
            return value_unless_error(value);
    }
    if (is_record(record) && ITEM(record, R_META) == meta) {
        long ident = small_int(ITEM(record, R_ID));
        if (ident > 0) {
            PyObject *output = capture_one(value, ITEM(record, R_REC));
            if (output == NULL) {
                Py_DECREF(record);
                return value_unless_error(value);
            }
            put(record, R_OUTPUT, output);
            Py_DECREF(output);
        }
        else if (ident == -1 && PyErr_Occurred()) {
            PyErr_Clear();
        }
    }
    else if (is_record(record) && PyDict_GET_SIZE(generator_records)) {
        /* maybe a coroutine resumed by hand that is not current (runtime.on_return) */
        Py_DECREF(record);
        PyObject *return_args[2] = {meta, value};
        PyObject *result = call(return_fn, return_args, 2);
        if (result == NULL)
            return value_unless_error(value);
        return result;
    }
    Py_DECREF(record);
    return Py_NewRef(value);
}

/* --- exit, error, fail: the common case in C, the rest in runtime.py ------------------------ */

static PyObject *
hook_exit(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "exit(meta)");
        return NULL;
    }
    PyObject *holder = get_holder();
    if (holder == NULL || holder == Py_None)
        return holder;
    PyObject *record = PyList_GET_ITEM(holder, 0);
    void *here = here_now();
    if (is_record(record) && ITEM(record, R_GEN) == Py_None &&
        is_call(ITEM(record, R_FRAME), here) &&
            (ITEM(record, R_ID) == minus_one || small_int(ITEM(record, R_ID)) == -1)) {
        int is_closed = field_truth(ITEM(record, R_REC), &F_closed);
        int status = is_closed < 0 ? -1 : is_closed ? 0 : finish_aggregated(holder, record);
        Py_DECREF(holder);
        return status < 0 ? NULL : Py_NewRef(Py_None);
    }
    PyErr_Clear();
    PyObject *frame = Py_NewRef(call_identity(holder, here));
    Py_DECREF(holder);
    PyObject *end_obj = PyLong_FromLongLong(now_ns());
    if (end_obj == NULL) {
        Py_DECREF(frame);
        return NULL;
    }
    PyObject *exit_args[3] = {args[0], frame, end_obj};
    PyObject *result = call(exit_fn, exit_args, 3);
    Py_DECREF(end_obj);
    Py_DECREF(frame);
    return result;
}

/* call_identity for this context's holder (a new reference; NULL on error). */
static PyObject *
running_call_identity(void)
{
    PyObject *holder = get_holder();
    if (holder == NULL)
        return NULL;
    PyObject *identity = Py_NewRef(call_identity(holder, here_now()));
    Py_DECREF(holder);
    return identity;
}

static PyObject *
hook_error(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "error(meta)");
        return NULL;
    }
    PyObject *frame = running_call_identity();
    if (frame == NULL)
        return NULL;
    PyObject *error_args[2] = {args[0], frame};
    PyObject *result = call(error_fn, error_args, 2);
    Py_DECREF(frame);
    return result;
}

static PyObject *
hook_fail(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    long long end = now_ns();
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "fail(meta)");
        return NULL;
    }
    PyObject *frame = running_call_identity();
    if (frame == NULL)
        return NULL;
    PyObject *end_obj = PyLong_FromLongLong(end);
    if (end_obj == NULL) {
        Py_DECREF(frame);
        return NULL;
    }
    PyObject *fail_args[3] = {args[0], frame, end_obj};
    PyObject *result = call(fail_fn, fail_args, 3);
    Py_DECREF(end_obj);
    Py_DECREF(frame);
    return result;
}

/* --- generators: only frames of recorded generators go to runtime.py ---------------------- */

static PyObject *
suspension_hook(PyObject *fn, PyObject *value)
{
    PyObject *frame = caller_frame();
    PyObject *record = PyDict_GetItemWithError(generator_records, frame);
    if (record == NULL) {
        if (PyErr_Occurred())
            return value_unless_error(value);
        return Py_NewRef(value);
    }
    PyObject *hook_args[2] = {value, frame};
    return call(fn, hook_args, 2);
}

static PyObject *
hook_yield(PyObject *module, PyObject *value)
{
    return suspension_hook(yield_fn, value);
}

static PyObject *
hook_resume(PyObject *module, PyObject *sent)
{
    return suspension_hook(resume_fn, sent);
}

/* --- configuration ------------------------------------------------------------------------- */

static int
take(PyObject *kwargs, const char *name, PyObject **slot)
{
    PyObject *value = PyDict_GetItemString(kwargs, name);
    if (value == NULL) {
        PyErr_Format(PyExc_TypeError, "configure() needs %s", name);
        return -1;
    }
    Py_XSETREF(*slot, Py_NewRef(value));
    return 0;
}

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    if (kwargs == NULL || PyTuple_GET_SIZE(args) != 0) {
        PyErr_SetString(PyExc_TypeError, "configure() takes keyword arguments only");
        return NULL;
    }
    PyObject *recording_type = NULL, *aggregate_type = NULL, *path_type = NULL;
    PyObject *policy_type = NULL;
    PyObject *fair = NULL;
    if (take(kwargs, "holder_var", &holder_var) < 0 ||
        take(kwargs, "generator_records", &generator_records) < 0 ||
        take(kwargs, "immutable_types", &immutable_types) < 0 ||
        take(kwargs, "snapshot", &snapshot_fn) < 0 ||
        take(kwargs, "snapshot_one", &snapshot_one_fn) < 0 ||
        take(kwargs, "true_parent", &true_parent_fn) < 0 ||
        take(kwargs, "enter_slow", &enter_slow_fn) < 0 ||
        take(kwargs, "enter_special", &enter_special_fn) < 0 ||
        take(kwargs, "internal_error", &internal_error_fn) < 0 ||
        take(kwargs, "done_slow", &done_slow_fn) < 0 ||
        take(kwargs, "exit", &exit_fn) < 0 || take(kwargs, "error", &error_fn) < 0 ||
        take(kwargs, "fail", &fail_fn) < 0 ||
        take(kwargs, "skip_suspended", &skip_suspended_fn) < 0 ||
        take(kwargs, "on_yield", &yield_fn) < 0 || take(kwargs, "on_resume", &resume_fn) < 0 ||
        take(kwargs, "on_return", &return_fn) < 0 ||
        take(kwargs, "on_enter", &py_enter_fn) < 0 || take(kwargs, "nothing", &nothing) < 0 ||
        take(kwargs, "completed", &completed_str) < 0 ||
        take(kwargs, "running", &running_str) < 0 ||
        take(kwargs, "recording_type", &recording_type) < 0 ||
        take(kwargs, "aggregate_type", &aggregate_type) < 0 ||
        take(kwargs, "path_type", &path_type) < 0 || take(kwargs, "fair_share", &fair) < 0 ||
        take(kwargs, "policy_type", &policy_type) < 0 ||
        take(kwargs, "pickle_dumps", &pickle_dumps) < 0 ||
        take(kwargs, "frozen", &frozen_type) < 0 || take(kwargs, "protocol", &protocol) < 0)
        goto error;
    if (!PyDict_CheckExact(generator_records) || !PyAnySet_Check(immutable_types) ||
        !PyType_Check(recording_type) || !PyType_Check(aggregate_type) ||
        !PyType_Check(path_type) || !PyType_Check(policy_type) || !PyType_Check(frozen_type) ||
        !PyCFunction_Check(pickle_dumps)) {
        PyErr_SetString(PyExc_TypeError, "configure(): unexpected argument types");
        goto error;
    }
    fair_share = PyLong_AsLong(fair);
    if (fair_share == -1 && PyErr_Occurred())
        goto error;
    if (field_init(&F_slots_left, recording_type, "slots_left") < 0 ||
        field_init(&F_reserve_left, recording_type, "reserve_left") < 0 ||
        field_init(&F_max_depth, recording_type, "max_depth") < 0 ||
        field_init(&F_ids, recording_type, "ids") < 0 ||
        field_init(&F_records, recording_type, "records") < 0 ||
        field_init(&F_policy, recording_type, "policy") < 0 ||
        field_init(&F_closed, recording_type, "closed") < 0 ||
        field_init(&F_count, aggregate_type, "count") < 0 ||
        field_init(&F_active, aggregate_type, "active") < 0 ||
        field_init(&F_errors, aggregate_type, "errors") < 0 ||
        field_init(&F_total_ns, aggregate_type, "total_ns") < 0 ||
        field_init(&F_children, aggregate_type, "children") < 0 ||
        field_init(&F_row_parent, aggregate_type, "parent") < 0 ||
        field_init(&F_rows_left, recording_type, "rows_left") < 0 ||
        field_init(&F_row_meta, aggregate_type, "meta") < 0 ||
        field_init(&F_path_meta, path_type, "meta") < 0 ||
        field_init(&F_path_children, path_type, "children") < 0 ||
        field_init(&F_kept, path_type, "kept") < 0 ||
        field_init(&F_value_budget, policy_type, "value_budget") < 0)
        goto error;
    direct_fields = F_slots_left.offset && F_reserve_left.offset && F_max_depth.offset &&
                    F_closed.offset && F_count.offset && F_active.offset && F_row_meta.offset &&
                    F_path_meta.offset && F_kept.offset;
    /* The frame layout the call addresses rely on: a frame object of a running call points at
     * the interpreter frame the thread state says is running (here: our caller's). */
    PyFrameObject *running = PyEval_GetFrame();
    addresses_on = running != NULL && ((FrameHead *)running)->f_frame == current_address();
    scalar_shortcut = 1;
    PyObject *scalars[5] = {(PyObject *)&PyLong_Type, (PyObject *)&PyUnicode_Type,
                            (PyObject *)&PyFloat_Type, (PyObject *)&PyBool_Type,
                            (PyObject *)Py_TYPE(Py_None)};
    for (int i = 0; i < 5; i++) {
        int found = PySet_Contains(immutable_types, scalars[i]);
        if (found < 0)
            goto error;
        scalar_shortcut &= found;
    }
    if (str_aggregates == NULL && (str_aggregates = PyUnicode_InternFromString("aggregates")) == NULL)
        goto error;
    if (zero == NULL && (zero = PyLong_FromLong(0)) == NULL)
        goto error;
    if (minus_one == NULL && (minus_one = PyLong_FromLong(-1)) == NULL)
        goto error;
    Py_DECREF(recording_type);
    Py_DECREF(aggregate_type);
    Py_DECREF(path_type);
    Py_DECREF(policy_type);
    Py_DECREF(fair);
    Py_RETURN_NONE;
error:
    Py_XDECREF(recording_type);
    Py_XDECREF(aggregate_type);
    Py_XDECREF(path_type);
    Py_XDECREF(policy_type);
    Py_XDECREF(fair);
    Py_CLEAR(pickle_dumps); /* capture goes to capture.snapshot (never half configured) */
    return NULL;
}

static PyObject *
uses_addresses(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(addresses_on);
}

static PyMethodDef methods[] = {
    {"uses_addresses", uses_addresses, METH_NOARGS,
     "uses_addresses() -> bool: aggregated calls are told apart by address (see _hooks.c)."},
    {"enter", (PyCFunction)(void (*)(void))hook_enter, METH_FASTCALL,
     "enter(meta, *args): a call starts (runtime.on_enter)."},
    {"done", (PyCFunction)(void (*)(void))hook_done, METH_FASTCALL,
     "done(meta, value) -> value: the call returns and ends (runtime.on_done)."},
    {"return_", (PyCFunction)(void (*)(void))hook_return, METH_FASTCALL,
     "return_(meta, value) -> value: the call returns (runtime.on_return)."},
    {"exit", (PyCFunction)(void (*)(void))hook_exit, METH_FASTCALL,
     "exit(meta): the call ends (runtime.on_exit)."},
    {"error", (PyCFunction)(void (*)(void))hook_error, METH_FASTCALL,
     "error(meta): the call's body raised (runtime.on_error)."},
    {"fail", (PyCFunction)(void (*)(void))hook_fail, METH_FASTCALL,
     "fail(meta): the call raised and ends (runtime.on_fail)."},
    {"yield_", hook_yield, METH_O, "yield_(value) -> value (runtime.on_yield)."},
    {"resume", hook_resume, METH_O, "resume(sent) -> sent (runtime.on_resume)."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(**parts): the runtime's objects the hooks use (once, from runtime.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "runtree.tracking._hooks",
    "The tracking hooks' common paths in C (see runtime.py).", -1, methods,
};

#ifndef RUNTREE_HOOKS_SOURCE_SHA256
#define RUNTREE_HOOKS_SOURCE_SHA256 "unknown"
#endif

PyMODINIT_FUNC
PyInit__hooks(void)
{
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL &&
        PyModule_AddStringConstant(module, "SOURCE_SHA256", RUNTREE_HOOKS_SOURCE_SHA256) < 0)
        Py_CLEAR(module);
    return module;
}
