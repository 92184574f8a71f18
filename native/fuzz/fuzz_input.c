/*
 * libFuzzer target over the shim's packet entry point, utps_input, on a
 * context that holds a live accepted connection with data in flight.
 *
 * Input: a sequence of records  [ctl][len][len bytes of datagram].
 *   ctl bits 0-3: advance the fake clock by n * 50 ms, then utps_tick
 *   ctl bit 4: aim the datagram at the live connection (connection id)
 *   ctl bit 5: also give it an in-window seq_nr/ack_nr
 *   ctl bit 6: the server writes 3000 bytes first
 *   ctl bit 7: send from a second address (forged source)
 * Built with clang -fsanitize=fuzzer,address,undefined by native/fuzz/run.sh.
 *
 * Copyright (c) 2026 the utpstream authors. MIT license.
 */
#include "../../tests/native/harness.h"

static const uint8_t OTHER_ADDR[16] = {127, 0, 0, 3};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	static uint8_t junk[3000];
	utps_ctx *s = h_server();
	h_conn c;
	if (h_handshake(s, 0x7777, 1000, &c) != 0) abort();
	uint32_t id = slot_id(s, 0);
	h_events(s, 0);
	size_t off = 0;
	int steps = 0;
	while (off + 2 <= size && steps++ < 256) {
		uint8_t ctl = data[off], len = data[off + 1];
		off += 2;
		if (len > size - off) len = (uint8_t)(size - off);
		uint8_t pkt[300];
		memcpy(pkt, data + off, len);
		off += len;
		if (ctl & 0x40) utps_write(s, id, junk, sizeof junk);
		if (len >= 20 && (ctl & 0x10)) {
			pkt[0] = (uint8_t)((pkt[0] & 0xf0) | 1);
			pkt[2] = (uint8_t)(c.send_id >> 8), pkt[3] = (uint8_t)c.send_id;
			if (ctl & 0x20) {
				uint16_t seq = (uint16_t)(c.seq + (pkt[16] & 7)), ack = (uint16_t)(c.ack + (pkt[18] & 3));
				pkt[16] = (uint8_t)(seq >> 8), pkt[17] = (uint8_t)seq;
				pkt[18] = (uint8_t)(ack >> 8), pkt[19] = (uint8_t)ack;
			}
		}
		utps_input(s, pkt, len, 4, (ctl & 0x80) ? OTHER_ADDR : H_PEER_ADDR, H_PEER_PORT);
		utps_end_batch(s);
		if (ctl & 0x0f) {
			h_now_us += (uint64_t)(ctl & 0x0f) * 50000;
			utps_tick(s);
		}
		/* Drain queues as JavaScript would; consume what was read. */
		static uint8_t ev[1 << 16];
		int n = utps_take_events(s, ev, sizeof ev);
		for (int e = 0; e < n;) {
			uint32_t elen = get_u32(ev + e + 8);
			if (ev[e] == UTPS_EV_READ) utps_consumed(s, get_u32(ev + e + 4), (int)elen);
			e += UTPS_HEADER_SIZE + (int)elen;
		}
		h_out o[64];
		while (h_take(s, o, 64) > 0) {
		}
	}
	utps_destroy(s);
	return 0;
}
