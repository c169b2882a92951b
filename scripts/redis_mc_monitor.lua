-- Redis and memcached latency from raw packets, as the original tool's
-- redis_mc_monitor.lua: a line per request, in tcpkit's line format, on any
-- port and without a protocol mode.
--
--   sudo tcpkit -i eth0 -p 6379 -S scripts/redis_mc_monitor.lua
--   sudo tcpkit -i eth0 -p 11211 -S scripts/redis_mc_monitor.lua
--
-- A response packet answers the oldest request waiting on its connection;
-- tcpkit's own -m redis / -m memcached pair exactly (pipelining, replies
-- split over packets) and are the better choice when they fit.

local MAX_ARG = 64 -- longer arguments are shortened, as tcpkit's lines do
local waiting = {} -- per connection: requests in the order sent
local last_seq = {} -- per connection: the last request segment, to skip retransmissions
local unfinished = {} -- per connection and direction: the last text segment did not end a line
local binary_left = {} -- per connection and direction: bytes of a binary message still to come

-- "10.0.0.2:5353", "[fd00::2]:5353"
local function endpoint(ip, port)
    if string.find(ip, ":", 1, true) then return "[" .. ip .. "]:" .. port end
    return ip .. ":" .. port
end

-- "SET key value" from a RESP array; nil if the payload is not one.
local function resp_command(s)
    local n, pos = string.match(s, "^%*(%d+)\r\n()")
    if not n then return nil end
    local words = {}
    for _ = 1, tonumber(n) do
        local len, start = string.match(s, "^%$(%d+)\r\n()", pos)
        if not len then break end
        local word = string.sub(s, start, start + len - 1)
        if #word > MAX_ARG then word = string.sub(word, 1, MAX_ARG) .. "..." end
        words[#words + 1] = word
        pos = start + len + 2
    end
    return table.concat(words, " ")
end

-- The command a request packet starts, or nil for the rest of a long request.
local function command(s)
    if string.byte(s, 1) == 42 then return resp_command(s) end -- '*'
    return string.match(s, "^(%a[%w_]* ?[^\r\n]*)\r\n")
end

-- memcached binary messages start with a magic byte: 0x80 requests, 0x81 responses.
local function is_binary(payload)
    local magic = string.byte(payload, 1)
    return magic == 0x80 or magic == 0x81
end

-- The binary messages a packet holds, from `from` on: their opcodes, and how
-- many bytes of the last one are still to come (each is a 24-byte header and
-- the body length it gives at bytes 8-11).
local function binary_messages(payload, from)
    local opcodes, pos, n = {}, from, #payload
    while pos + 23 <= n and is_binary(string.sub(payload, pos, pos)) do
        local b1, b2, b3, b4 = string.byte(payload, pos + 8, pos + 11)
        opcodes[#opcodes + 1] = string.byte(payload, pos + 1)
        pos = pos + 24 + ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    end
    return opcodes, pos > n + 1 and pos - n - 1 or 0
end

-- The messages a packet begins on one side of a connection. A packet that
-- goes on a message an earlier one began (a long value split over segments)
-- begins none, or only those after its end. Text messages end with CRLF;
-- binary ones after the length their header gives, whatever their last bytes.
-- Returns a list: command texts (requests) or true (responses).
local function messages(side, payload, request)
    local left = binary_left[side] or 0
    if left > 0 then
        if left >= #payload then
            binary_left[side] = left - #payload
            return {}
        end
        binary_left[side] = 0
        local opcodes, rest = binary_messages(payload, left + 1)
        binary_left[side] = rest
        local out = {}
        for i, op in ipairs(opcodes) do out[i] = request and string.format("binary opcode 0x%02x", op) or true end
        return out
    end
    if is_binary(payload) then
        unfinished[side] = false
        local opcodes, rest = binary_messages(payload, 1)
        binary_left[side] = rest
        local out = {}
        for i, op in ipairs(opcodes) do out[i] = request and string.format("binary opcode 0x%02x", op) or true end
        return out
    end
    local before = unfinished[side]
    unfinished[side] = string.sub(payload, -2) ~= "\r\n"
    if before then return {} end
    if not request then return { true } end
    local text = command(payload)
    return text and { text } or {}
end

function process(packet)
    if packet.size == 0 then return end
    local key, queue
    if packet.request then
        key = endpoint(packet.sip, packet.sport) .. " => " .. endpoint(packet.dip, packet.dport)
        if last_seq[key] == packet.seq then return end
        last_seq[key] = packet.seq
        local texts = messages(key .. " >", packet.payload, true)
        if #texts == 0 then return end
        queue = waiting[key] or {}
        waiting[key] = queue
        for _, text in ipairs(texts) do
            queue[#queue + 1] = { text = text, sec = packet.tv_sec, usec = packet.tv_usec }
        end
        return
    end
    key = endpoint(packet.dip, packet.dport) .. " => " .. endpoint(packet.sip, packet.sport)
    local answers = messages(key .. " <", packet.payload, false)
    queue = waiting[key]
    for _ = 1, #answers do
        if not queue or #queue == 0 then return end
        local req = table.remove(queue, 1)
        local ms = (packet.tv_sec - req.sec) * 1000 + (packet.tv_usec - req.usec) / 1000
        local time_str = os.date("%Y-%m-%d %H:%M:%S", packet.tv_sec) .. string.format(".%06d", packet.tv_usec)
        print(string.format("%s %s | %.3f ms | %s", time_str, key, ms, req.text))
    end
end
