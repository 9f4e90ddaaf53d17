/*
 * The hand-written pieces of api.xds against the generated descriptors: the
 * discovery field numbers of xds_wire.h, the served types' messages, and the
 * small containers (name_set, strmap, out_queue, lru_index) the streams and
 * caches rely on.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_check.h"

#include "lru_index.h"
#include "name_set.h"
#include "out_queue.h"
#include "pb_registry.h"
#include "strmap.h"
#include "xds_types.h"
#include "xds_wire.h"

static unsigned field_number(const char *message, const char *field)
{
    const ProtobufCMessageDescriptor *d = pb_registry_find(message, strlen(message));
    const ProtobufCFieldDescriptor *f = d ? protobuf_c_message_descriptor_get_field_by_name(d, field) : NULL;
    return f ? f->id : 0;
}

static void test_field_numbers(void)
{
    const char *r = "envoy.service.discovery.v3.DiscoveryResponse";
    CHECK_INT(field_number(r, "version_info"), DISCOVERY_RESPONSE_VERSION_INFO);
    CHECK_INT(field_number(r, "resources"), DISCOVERY_RESPONSE_RESOURCES);
    CHECK_INT(field_number(r, "type_url"), DISCOVERY_RESPONSE_TYPE_URL);
    CHECK_INT(field_number(r, "nonce"), DISCOVERY_RESPONSE_NONCE);
    CHECK_INT(field_number(r, "control_plane"), DISCOVERY_RESPONSE_CONTROL_PLANE);
    const char *d = "envoy.service.discovery.v3.DeltaDiscoveryResponse";
    CHECK_INT(field_number(d, "system_version_info"), DELTA_RESPONSE_SYSTEM_VERSION_INFO);
    CHECK_INT(field_number(d, "resources"), DELTA_RESPONSE_RESOURCES);
    CHECK_INT(field_number(d, "type_url"), DELTA_RESPONSE_TYPE_URL);
    CHECK_INT(field_number(d, "nonce"), DELTA_RESPONSE_NONCE);
    CHECK_INT(field_number(d, "removed_resources"), DELTA_RESPONSE_REMOVED_RESOURCES);
    CHECK_INT(field_number(d, "control_plane"), DELTA_RESPONSE_CONTROL_PLANE);
    const char *res = "envoy.service.discovery.v3.Resource";
    CHECK_INT(field_number(res, "version"), RESOURCE_VERSION);
    CHECK_INT(field_number(res, "resource"), RESOURCE_RESOURCE);
    CHECK_INT(field_number(res, "name"), RESOURCE_NAME);
    CHECK_INT(field_number("envoy.config.core.v3.ControlPlane", "identifier"), CONTROL_PLANE_IDENTIFIER);
    for (int t = 0; t < TRELLIS_XDS_TYPE_COUNT; t++) {
        const xds_type_info *info = xds_type_info_of((trellis_xds_type)t);
        CHECK(xds_type_descriptor((trellis_xds_type)t) != NULL);
        CHECK(xds_type_by_url(info->url) == info);
        CHECK(strstr(info->url, info->message) != NULL);
    }
    CHECK(xds_type_by_url("type.googleapis.com/envoy.api.v2.Listener") == NULL);
}

static void test_name_set(void)
{
    name_set s;
    char *names[] = {"b", "a", "c", "a"};
    CHECK(name_set_from(&s, names, 4));
    CHECK_INT(s.count, 3);
    CHECK_STR(s.names[0], "a");
    CHECK_STR(s.names[2], "c");
    CHECK(name_set_contains(&s, "b"));
    CHECK(name_set_remove(&s, "b"));
    CHECK(!name_set_remove(&s, "b"));
    CHECK(!name_set_contains(&s, "b"));
    name_set t;
    char *other[] = {"c", "a"};
    name_set_from(&t, other, 2);
    CHECK(name_set_equal(&s, &t));
    name_set_free(&s);
    name_set_free(&t);

    /* batches: merged into what is there, duplicates collapsed, removed in one walk */
    name_set_init(&s);
    CHECK(name_set_add(&s, "m"));
    char *batch[] = {"z", "m", "b", "z", "a"};
    CHECK(name_set_add_all(&s, batch, 5));
    CHECK_INT(s.count, 4);
    CHECK_STR(s.names[0], "a");
    CHECK_STR(s.names[1], "b");
    CHECK_STR(s.names[2], "m");
    CHECK_STR(s.names[3], "z");
    char *gone[] = {"z", "nope", "a", "a"};
    CHECK_INT(name_set_remove_all(&s, gone, 4), 2);
    CHECK_INT(s.count, 2);
    CHECK_STR(s.names[0], "b");
    CHECK_STR(s.names[1], "m");
    name_set_free(&s);
}

static void test_strmap(void)
{
    strmap m;
    strmap_init(&m);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        CHECK(strmap_put(&m, key, (void *)(uintptr_t)(i + 1)) != NULL);
    }
    CHECK_INT(m.count, 1000);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(key, sizeof(key), "k%d", i);
        CHECK_INT((uintptr_t)strmap_remove(&m, key), i + 1);
    }
    CHECK_INT(m.count, 500);
    CHECK(strmap_get(&m, "k2") == NULL);
    CHECK(strmap_get(&m, "k3") != NULL && (uintptr_t)*strmap_get(&m, "k3") == 4);
    size_t cursor = 0, seen = 0;
    const char *k;
    void *v;
    while (strmap_next(&m, &cursor, &k, &v))
        seen++;
    CHECK_INT(seen, 500);
    strmap_free(&m);
}

static void test_out_queue(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    out_queue q;
    oq_init(&q);
    refbuf *body = refbuf_copy("0123456789", 10);
    CHECK(oq_copy(&q, "ab", 2));
    CHECK(oq_copy(&q, "cd", 2)); /* merges with the previous segment */
    CHECK_INT(oq_segments(&q), 1);
    CHECK(oq_ref(&q, body, body->data + 2, 5));
    CHECK_INT(body->refs, 2);
    CHECK(oq_copy(&q, "!", 1));
    CHECK_INT(oq_bytes(&q), 10);
    CHECK_INT(oq_write(&q, sv[0]), 10);
    CHECK(oq_empty(&q));
    CHECK_INT(body->refs, 1); /* the queue let go once written */
    CHECK(q.chunk == NULL && q.segs == NULL); /* idle: no memory held */
    char buf[32] = {0};
    CHECK_INT(read(sv[1], buf, sizeof(buf)), 10);
    CHECK_STR(buf, "abcd23456!");
    /* a full socket: partial writes keep the rest queued */
    refbuf *big = refbuf_new(1 << 20);
    big->len = big->cap;
    memset(big->data, 'x', big->len);
    CHECK(oq_ref(&q, big, big->data, big->len));
    ssize_t w = oq_write(&q, sv[0]);
    CHECK(w > 0 && (size_t)w < big->len);
    CHECK_INT(oq_bytes(&q), big->len - (size_t)w);
    oq_free(&q);
    CHECK_INT(big->refs, 1);
    refbuf_unref(big);
    refbuf_unref(body);
    close(sv[0]);
    close(sv[1]);
}

typedef struct dropped {
    lru_entry *entries[8];
    size_t count;
} dropped;

static void record_drop(void *owner, lru_entry *e)
{
    dropped *d = owner;
    d->entries[d->count++] = e;
}

static void test_lru_index(void)
{
    dropped d = {0};
    lru_index l;
    lru_index_init(&l, 100, record_drop, &d);
    lru_entry a = {0}, b = {0}, c = {0}, big = {0};
    CHECK(lru_index_add(&l, "a", &a, 40));
    CHECK(lru_index_add(&l, "b", &b, 40));
    CHECK_STR(a.key, "a"); /* the index's own copy */
    CHECK(lru_index_get(&l, "a") == &a); /* now the most recently used */
    CHECK(lru_index_get(&l, "x") == NULL);
    CHECK(lru_index_add(&l, "c", &c, 40)); /* over budget: b, the least recent, goes */
    CHECK_INT(d.count, 1);
    CHECK(d.entries[0] == &b);
    CHECK(lru_index_get(&l, "b") == NULL);
    CHECK_INT(l.entries, 2);
    CHECK_INT(l.bytes, 80);
    CHECK_INT(l.evictions, 1);
    CHECK(l.oldest == &a && l.newest == &c);

    CHECK(lru_index_add(&l, "big", &big, 500)); /* alone over budget: kept, the rest go */
    CHECK_INT(d.count, 3);
    CHECK(l.oldest == &big && l.newest == &big);
    CHECK_INT(l.bytes, 500);

    lru_index_evict(&l, &big);
    CHECK_INT(l.entries, 0);
    CHECK(l.oldest == NULL && l.newest == NULL);
    CHECK(lru_index_add(&l, "a", &a, 10));
    lru_index_free(&l); /* drops what is left */
    CHECK_INT(d.count, 5);
    CHECK(d.entries[4] == &a);
}

int main(void)
{
    test_field_numbers();
    test_name_set();
    test_strmap();
    test_out_queue();
    test_lru_index();
    return test_finish("xds_unit_wire");
}
