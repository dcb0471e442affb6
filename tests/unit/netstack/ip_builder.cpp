#include "tests/unit/netstack/ip_builder.hpp"

#include <algorithm>

namespace tunless::test::ip {
namespace {

std::uint32_t sum_words(ByteView data, std::uint32_t sum) {
    std::size_t i = 0;
    for (; i + 1 < data.size(); i += 2) {
        sum += load_be16(data.data() + i);
    }
    if (i < data.size()) {
        sum += std::uint32_t(data[i]) << 8;
    }
    return sum;
}

// RFC 793 §3.1 / RFC 8200 §8.1 pseudo-header sum.
std::uint32_t pseudo_sum(const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                         std::size_t length) {
    std::uint32_t sum = sum_words(src.bytes(), 0);
    sum = sum_words(dst.bytes(), sum);
    sum += proto;
    sum += static_cast<std::uint32_t>(length & 0xFFFF);
    sum += static_cast<std::uint32_t>(length >> 16);
    return sum;
}

void put_checksum(Bytes& b, std::size_t at, std::uint16_t value) {
    store_be16(b.data() + at, value);
}

Bytes ipv4_header(const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                  std::size_t payload_len, std::uint8_t ttl, std::uint16_t id) {
    Bytes h(20, 0);
    h[0] = 0x45;
    store_be16(h.data() + 2, static_cast<std::uint16_t>(20 + payload_len));
    store_be16(h.data() + 4, id);
    h[8] = ttl;
    h[9] = proto;
    std::copy_n(src.data(), 4, h.begin() + 12);
    std::copy_n(dst.data(), 4, h.begin() + 16);
    put_checksum(h, 10, checksum(h));
    return h;
}

}  // namespace

std::uint16_t checksum(ByteView data, std::uint32_t initial) {
    std::uint32_t sum = sum_words(data, initial);
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xFFFF);
}

Bytes ip_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t proto,
                ByteView transport, std::uint8_t ttl, std::uint16_t id) {
    Bytes out;
    if (src.is_v4()) {
        out = ipv4_header(src, dst, proto, transport.size(), ttl, id);
    } else {
        out.assign(40, 0);
        out[0] = 0x60;
        store_be16(out.data() + 4, static_cast<std::uint16_t>(transport.size()));
        out[6] = proto;
        out[7] = ttl;
        std::copy_n(src.data(), 16, out.begin() + 8);
        std::copy_n(dst.data(), 16, out.begin() + 24);
    }
    out.insert(out.end(), transport.begin(), transport.end());
    return out;
}

Bytes tcp_packet(const IpAddress& src, const IpAddress& dst, const TcpSegment& seg) {
    Bytes opts;
    if (seg.mss) {
        opts.insert(opts.end(), {2, 4, std::uint8_t(*seg.mss >> 8), std::uint8_t(*seg.mss)});
    }
    if (seg.sack_permitted) {
        opts.insert(opts.end(), {1, 1, 4, 2});
    }
    if (seg.wscale) {
        opts.insert(opts.end(), {1, 3, 3, *seg.wscale});
    }
    if (!seg.sack.empty()) {  // RFC 2018 §3: kind 5, 8 bytes per block, after two NOPs
        opts.insert(opts.end(), {1, 1, 5, std::uint8_t(2 + 8 * seg.sack.size())});
        for (const auto& [left, right] : seg.sack) {
            std::uint8_t edge[8];
            store_be32(edge, left);
            store_be32(edge + 4, right);
            opts.insert(opts.end(), edge, edge + 8);
        }
    }
    Bytes t(20, 0);
    store_be16(t.data(), seg.sport);
    store_be16(t.data() + 2, seg.dport);
    store_be32(t.data() + 4, seg.seq);
    store_be32(t.data() + 8, seg.ack);
    t[12] = static_cast<std::uint8_t>(((20 + opts.size()) / 4) << 4);
    t[13] = seg.flags;
    store_be16(t.data() + 14, seg.window);
    t.insert(t.end(), opts.begin(), opts.end());
    t.insert(t.end(), seg.payload.begin(), seg.payload.end());
    put_checksum(t, 16, checksum(t, pseudo_sum(src, dst, ipproto::kTcp, t.size())));
    return ip_packet(src, dst, ipproto::kTcp, t);
}

Bytes udp_packet(const IpAddress& src, const IpAddress& dst, std::uint16_t sport,
                 std::uint16_t dport, ByteView payload) {
    Bytes u(8, 0);
    store_be16(u.data(), sport);
    store_be16(u.data() + 2, dport);
    store_be16(u.data() + 4, static_cast<std::uint16_t>(8 + payload.size()));
    u.insert(u.end(), payload.begin(), payload.end());
    std::uint16_t c = checksum(u, pseudo_sum(src, dst, ipproto::kUdp, u.size()));
    put_checksum(u, 6, c == 0 ? 0xFFFF : c);  // RFC 768: 0 means "no checksum"
    return ip_packet(src, dst, ipproto::kUdp, u);
}

Bytes echo_request(const IpAddress& src, const IpAddress& dst, std::uint16_t ident,
                   std::uint16_t seqno, ByteView payload) {
    Bytes m(8, 0);
    m[0] = src.is_v4() ? 8 : 128;
    store_be16(m.data() + 4, ident);
    store_be16(m.data() + 6, seqno);
    m.insert(m.end(), payload.begin(), payload.end());
    const std::uint8_t proto = src.is_v4() ? ipproto::kIcmp4 : ipproto::kIcmp6;
    const std::uint32_t pseudo = src.is_v4() ? 0 : pseudo_sum(src, dst, proto, m.size());
    put_checksum(m, 2, checksum(m, pseudo));
    return ip_packet(src, dst, proto, m);
}

std::vector<Bytes> ipv4_fragments(const Bytes& packet, std::size_t chunk) {
    std::vector<Bytes> out;
    const ByteView payload(packet.data() + 20, packet.size() - 20);
    for (std::size_t off = 0; off < payload.size(); off += chunk) {
        const std::size_t n = std::min(chunk, payload.size() - off);
        Bytes f(packet.begin(), packet.begin() + 20);
        store_be16(f.data() + 2, static_cast<std::uint16_t>(20 + n));
        const bool more = off + n < payload.size();
        store_be16(f.data() + 6, static_cast<std::uint16_t>((more ? 0x2000 : 0) | (off / 8)));
        put_checksum(f, 10, 0);
        put_checksum(f, 10, checksum(ByteView(f.data(), 20)));
        f.insert(f.end(), payload.begin() + static_cast<std::ptrdiff_t>(off),
                 payload.begin() + static_cast<std::ptrdiff_t>(off + n));
        out.push_back(std::move(f));
    }
    return out;
}

namespace {

void parse_tcp(Parsed& p) {
    const Bytes& t = p.transport;
    if (t.size() < 20) {
        return;
    }
    auto& s = p.tcp;
    s.sport = load_be16(t.data());
    s.dport = load_be16(t.data() + 2);
    s.seq = load_be32(t.data() + 4);
    s.ack = load_be32(t.data() + 8);
    const std::size_t off = std::size_t(t[12] >> 4) * 4;
    s.flags = t[13];
    s.window = load_be16(t.data() + 14);
    for (std::size_t i = 20; i < off && i < t.size();) {
        const std::uint8_t kind = t[i];
        if (kind == 0) {
            break;
        }
        if (kind == 1) {
            ++i;
            continue;
        }
        if (i + 1 >= t.size() || t[i + 1] < 2) {
            break;
        }
        if (kind == 2 && t[i + 1] == 4) {
            s.mss = load_be16(t.data() + i + 2);
        } else if (kind == 3 && t[i + 1] == 3) {
            s.wscale = t[i + 2];
        } else if (kind == 4) {
            s.sack_permitted = true;
        }
        i += t[i + 1];
    }
    s.payload.assign(t.begin() + static_cast<std::ptrdiff_t>(std::min(off, t.size())), t.end());
}

void parse_transport(Parsed& p) {
    const Bytes& t = p.transport;
    const bool pseudo = p.proto != ipproto::kIcmp4;
    const std::uint32_t initial = pseudo ? pseudo_sum(p.src, p.dst, p.proto, t.size()) : 0;
    p.transport_checksum_ok = checksum(t, initial) == 0;
    if (p.proto == ipproto::kTcp) {
        parse_tcp(p);
    } else if (p.proto == ipproto::kUdp && t.size() >= 8) {
        p.udp_sport = load_be16(t.data());
        p.udp_dport = load_be16(t.data() + 2);
        p.udp_payload.assign(t.begin() + 8, t.end());
    } else if ((p.proto == ipproto::kIcmp4 || p.proto == ipproto::kIcmp6) && t.size() >= 8) {
        p.icmp_type = t[0];
        p.icmp_code = t[1];
        p.icmp_ident = load_be16(t.data() + 4);
        p.icmp_seq = load_be16(t.data() + 6);
        p.icmp_payload.assign(t.begin() + 8, t.end());
    }
}

}  // namespace

std::optional<Parsed> parse(ByteView b) {
    Parsed p;
    if (b.empty()) {
        return std::nullopt;
    }
    p.version = b[0] >> 4;
    std::size_t header = 0;
    std::size_t total = 0;
    if (p.version == 4) {
        header = std::size_t(b[0] & 0x0F) * 4;
        if (b.size() < 20 || header < 20 || b.size() < header) {
            return std::nullopt;
        }
        total = load_be16(b.data() + 2);
        p.ip_checksum_ok = checksum(ByteView(b.data(), header)) == 0;
        const std::uint16_t frag = load_be16(b.data() + 6);
        p.more_fragments = (frag & 0x2000) != 0;
        p.frag_offset = static_cast<std::uint16_t>((frag & 0x1FFF) * 8);
        p.ttl = b[8];
        p.proto = b[9];
        p.src = IpAddress::v4_bytes(b.data() + 12);
        p.dst = IpAddress::v4_bytes(b.data() + 16);
    } else if (p.version == 6) {
        if (b.size() < 40) {
            return std::nullopt;
        }
        header = 40;
        total = 40 + std::size_t{load_be16(b.data() + 4)};
        p.proto = b[6];
        p.ttl = b[7];
        p.src = IpAddress::v6_bytes(b.data() + 8);
        p.dst = IpAddress::v6_bytes(b.data() + 24);
        if (p.proto == ipproto::kIp6Fragment && b.size() >= 48) {
            p.proto = b[40];
            const std::uint16_t frag = load_be16(b.data() + 42);
            p.more_fragments = (frag & 1) != 0;
            p.frag_offset = static_cast<std::uint16_t>(frag & 0xFFF8);
            header = 48;
        }
    } else {
        return std::nullopt;
    }
    if (total < header || total > b.size()) {
        return std::nullopt;
    }
    p.transport.assign(b.begin() + static_cast<std::ptrdiff_t>(header),
                       b.begin() + static_cast<std::ptrdiff_t>(total));
    if (!p.more_fragments && p.frag_offset == 0) {
        parse_transport(p);
    }
    return p;
}

}  // namespace tunless::test::ip
