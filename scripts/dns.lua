-- DNS latency: one line per answer, with the question it answers, how long
-- the server took and its response code; questions never answered are listed
-- when the capture ends.
--
--   sudo tcpkit -i eth0 -p 53 -u -S scripts/dns.lua
--
-- Over TCP (without -u) each message has a two-byte length in front; this
-- script reads messages that fit in one segment.

local QTYPES = {
    [1] = "A", [2] = "NS", [5] = "CNAME", [6] = "SOA", [12] = "PTR", [15] = "MX",
    [16] = "TXT", [28] = "AAAA", [33] = "SRV", [64] = "SVCB", [65] = "HTTPS", [255] = "ANY",
}
local RCODES = { [0] = "NOERROR", [1] = "FORMERR", [2] = "SERVFAIL", [3] = "NXDOMAIN", [4] = "NOTIMP", [5] = "REFUSED" }

local function u16(s, i)
    local hi, lo = string.byte(s, i, i + 1)
    if not lo then return nil end
    return bit32.bor(bit32.lshift(hi, 8), lo)
end

-- "example.com. A" from the question section (at byte 13 of the message).
local function question(s, base)
    local pos, labels = base + 12, {}
    while true do
        local len = string.byte(s, pos)
        if not len then return nil end
        if len == 0 then break end
        if bit32.band(len, 0xC0) ~= 0 then return nil end -- questions are not compressed
        labels[#labels + 1] = string.sub(s, pos + 1, pos + len)
        pos = pos + len + 1
    end
    local qtype = u16(s, pos + 1)
    if not qtype then return nil end
    return table.concat(labels, ".") .. ". " .. (QTYPES[qtype] or ("TYPE" .. qtype))
end

-- "10.0.0.2:5353", "[fd00::2]:5353"
local function endpoint(ip, port)
    if string.find(ip, ":", 1, true) then return "[" .. ip .. "]:" .. port end
    return ip .. ":" .. port
end

local function stamp(sec, usec)
    return os.date("%Y-%m-%d %H:%M:%S", sec) .. string.format(".%06d", usec)
end

local pending, order = {}, {}

function process(packet)
    -- UDP packets have no TCP flags; a TCP message starts with its length.
    local base = packet.flags and 3 or 1
    local s = packet.payload
    if #s < base + 11 then return end
    local id = u16(s, base)
    local code = u16(s, base + 2)
    local is_response = bit32.btest(code, 0x8000)
    if not is_response then
        local q = question(s, base)
        if not q then return end
        local key = endpoint(packet.sip, packet.sport) .. " => " .. endpoint(packet.dip, packet.dport) .. " #" .. id
        if not pending[key] then order[#order + 1] = key end
        pending[key] = { q = q, sec = packet.tv_sec, usec = packet.tv_usec }
        return
    end
    local key = endpoint(packet.dip, packet.dport) .. " => " .. endpoint(packet.sip, packet.sport) .. " #" .. id
    local query = pending[key]
    if not query then return end
    pending[key] = nil
    local ms = (packet.tv_sec - query.sec) * 1000 + (packet.tv_usec - query.usec) / 1000
    local rcode = bit32.band(code, 0xF)
    print(string.format("%s %s | %.3f ms | %s | %s", stamp(packet.tv_sec, packet.tv_usec), key, ms, query.q,
        RCODES[rcode] or ("RCODE" .. rcode)))
end

function process_end()
    for _, key in ipairs(order) do
        local query = pending[key]
        if query then print(string.format("%s %s | no response | %s", stamp(query.sec, query.usec), key, query.q)) end
    end
end
