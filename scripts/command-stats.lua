-- Latency per command from tcpkit's own pairing: run with a protocol mode
-- (-m redis, memcached, http or dns) and get, when the capture ends, a table
-- of count, errors, unanswered, mean and max latency per command.
--
--   sudo tcpkit -i eth0 -m redis -S scripts/command-stats.lua
--
-- process_transaction(tx) gets each request paired with its response:
-- tx.protocol, tx.client, tx.server, tx.request, tx.status ("ok", "error",
-- "no response"), tx.status_text, tx.latency_us, tx.complete_us,
-- tx.request_size, tx.response_size, tx.tv_sec, tx.tv_usec.

local stats, names = {}, {}

function process_transaction(tx)
    local name = string.upper(string.match(tx.request, "^(%S+)") or "?")
    local s = stats[name]
    if not s then
        s = { count = 0, errors = 0, unanswered = 0, total = 0, max = 0 }
        stats[name] = s
        names[#names + 1] = name
    end
    if tx.status == "no response" then
        s.unanswered = s.unanswered + 1
        return
    end
    s.count = s.count + 1
    if tx.status == "error" then s.errors = s.errors + 1 end
    s.total = s.total + tx.latency_us
    if tx.latency_us > s.max then s.max = tx.latency_us end
end

function process_end()
    table.sort(names)
    print(string.format("%-12s %7s %7s %9s %10s %10s", "command", "count", "errors", "no reply", "mean ms", "max ms"))
    for _, name in ipairs(names) do
        local s = stats[name]
        local mean = s.count > 0 and s.total / s.count / 1000 or 0
        print(string.format("%-12s %7u %7u %9u %10.3f %10.3f", name, s.count, s.errors, s.unanswered, mean, s.max / 1000))
    end
end
