Feature: Limits and protections of ingest
  Pulse protects itself and its tenants: every token has a quota per minute
  (samples and requests), a tenant has a cap on distinct series, a full queue
  pushes back instead of dropping, retries are safe (Idempotency-Key and
  dedupe_id), and every limit of the contract is refused with a message that
  names it.

  Scenarios that need other settings than the defaults start a server of
  their own with them, on a clock the scenario moves by hand ("the clock
  advances one minute"); its "now" is the scenario's start.

  Quotas follow GCRA over one minute: a quota of N allows a burst of N at once,
  and one more every minute/N after that; a minute of quiet restores all of it.

  # ---- per-token quotas ----

  Scenario: a token's sample quota is spent, refused with 429, and restored a minute later
    Given a server with settings:
      | PULSE_RATE_LIMIT_SAMPLES | 100 |
    And a tenant with a token scoped "ingest,read"
    When I post 60 samples of "quota.load" numbered from 0
    Then the answer is 202 with a request_id and accepted 60
    And the answer carries X-RateLimit-Limit 100 and X-RateLimit-Remaining 40
    When I post 40 samples of "quota.load" numbered from 60
    Then the answer is 202 with a request_id and accepted 40
    And the answer carries X-RateLimit-Limit 100 and X-RateLimit-Remaining 0
    When I post 1 sample of "quota.load" numbered from 100
    Then the answer is 429 with a JSON error naming the limit "samples_per_minute" of 100
    And the answer carries a Retry-After of 1 to 60 seconds
    And the answer carries X-RateLimit-Limit 100 and X-RateLimit-Remaining 0
    When the clock advances 1 minute
    And I post 100 samples of "quota.load" numbered from 100
    Then the answer is 202 with a request_id and accepted 100
    And within a second "quota.load" has 200 points

  Scenario: a request larger than the whole quota is refused outright
    Given a server with settings:
      | PULSE_RATE_LIMIT_SAMPLES | 100 |
    And a tenant with a token scoped "ingest,read"
    When I post 101 samples of "quota.load" numbered from 0
    Then the answer is 429 with a JSON error naming the limit "samples_per_minute" of 100
    And nothing is stored for "quota.load"

  Scenario: a token's request quota is spent, refused with 429, and restored a minute later
    Given a server with settings:
      | PULSE_RATE_LIMIT_REQUESTS | 3 |
    And a tenant with a token scoped "ingest,read"
    When I post 3 requests of one sample of "req.load", each answered 202
    And I post 1 sample of "req.load" numbered from 3
    Then the answer is 429 with a JSON error naming the limit "requests_per_minute" of 3
    And the answer carries a Retry-After of 1 to 60 seconds
    And the answer carries X-RateLimit-Limit 3 and X-RateLimit-Remaining 0
    When the clock advances 1 minute
    And I post 1 sample of "req.load" numbered from 3
    Then the answer is 202 with a request_id and accepted 1
    And within a second "req.load" has 4 points

  Scenario: a token's own quota overrides the default, lower or higher
    Given a server with settings:
      | PULSE_RATE_LIMIT_SAMPLES | 100 |
    And tenant "small" with a token scoped "ingest,read" and its own quota of 10 samples per minute
    And tenant "large" with a token scoped "ingest,read" and its own quota of 500 samples per minute
    When "small" posts 10 samples of "own.load" numbered from 0
    Then the answer is 202 with a request_id and accepted 10
    And the answer carries X-RateLimit-Limit 10 and X-RateLimit-Remaining 0
    When "small" posts 1 sample of "own.load" numbered from 10
    Then the answer is 429 with a JSON error naming the limit "samples_per_minute" of 10
    When "large" posts 300 samples of "own.load" numbered from 0
    Then the answer is 202 with a request_id and accepted 300
    And the answer carries X-RateLimit-Limit 500 and X-RateLimit-Remaining 200
    And within a second "large" sees 300 points of "own.load"

  # ---- safe retries ----

  Scenario: an Idempotency-Key replays the first answer and stores nothing new
    Given a server of its own
    And a tenant with a token scoped "ingest,read"
    When I post to /api/metrics with Idempotency-Key "batch-1":
      """
      {"name":"idem.load","value":1}
      """
    Then the answer is 202 with a request_id and accepted 1
    # Without ts a sample takes the clock: had the replay been enqueued, its
    # point would land one second after the first.
    When the clock advances 1 second
    And I post to /api/metrics with Idempotency-Key "batch-1":
      """
      {"name":"idem.load","value":1}
      """
    Then the answer is 202 with a request_id and accepted 1
    And the answer replays the first request, with the header Idempotent-Replayed "true"
    And within a second "idem.load" has 1 point
    And once the queue is drained "idem.load" still has 1 point

  Scenario: an Idempotency-Key reused with another body is refused with 422
    Given a tenant with a token scoped "ingest,read"
    When I post to /api/metrics with Idempotency-Key "batch-2":
      """
      {"name":"idem.first","value":1}
      """
    Then the answer is 202 with a request_id and accepted 1
    When I post to /api/metrics with Idempotency-Key "batch-2":
      """
      {"name":"idem.second","value":2}
      """
    Then the answer is 422 with a JSON error
    And nothing is stored for "idem.second"

  Scenario: an Idempotency-Key belongs to its tenant
    Given tenants "acme" and "globex", each with a token scoped "ingest,read"
    When "acme" posts with Idempotency-Key "shared-key" {"name":"idem.tenant","value":1}
    Then the answer is 202 with a request_id and accepted 1
    When "globex" posts with Idempotency-Key "shared-key" {"name":"idem.tenant","value":2}
    Then the answer is 202 with a request_id and accepted 1
    And the answer has a new request_id and no header Idempotent-Replayed
    And within a second "globex" sees 1 point of "idem.tenant"
    And "globex" sees only the value 2 in "idem.tenant"

  Scenario: three concurrent sends of one dedupe_id store one point
    Given a server with settings:
      | PULSE_WORKER_CONCURRENCY | 2 |
    And a tenant with a token scoped "ingest,read"
    When 3 clients post at once a sample of "dedupe.load" with the dedupe_id "reading-42", each with its own value and time
    Then within a second "dedupe.load" has 1 point
    And once the queue is drained "dedupe.load" still has 1 point, with one of the values sent

  # ---- the series cap ----

  Scenario: a tenant's new series past the cap are refused, existing ones keep ingesting
    Given a server with settings:
      | PULSE_MAX_SERIES_PER_TENANT | 3 |
    And tenants "acme" and "globex", each with a token scoped "ingest,read"
    When "acme" tries to post [{"name":"cap.load","value":1,"tags":{"host":"a"}},{"name":"cap.load","value":1,"tags":{"host":"b"}},{"name":"cap.load","value":1,"tags":{"host":"c"}}]
    Then the answer is 202 with a request_id and accepted 3
    When "acme" tries to post {"name":"cap.load","value":1,"tags":{"host":"d"}}
    Then the answer is 422 with a JSON error
    And the errors list index 0 field "name" with a message containing "max_series_per_tenant=3"
    When the clock advances 1 second
    And "acme" tries to post {"name":"cap.load","value":2,"tags":{"host":"a"}}
    Then the answer is 202 with a request_id and accepted 1
    When "globex" tries to post [{"name":"cap.load","value":1,"tags":{"host":"a"}},{"name":"cap.load","value":1,"tags":{"host":"b"}},{"name":"cap.load","value":1,"tags":{"host":"c"}}]
    Then the answer is 202 with a request_id and accepted 3
    And within a second "acme" sees 4 points of "cap.load"
    And within a second "globex" sees 3 points of "cap.load"
    And "acme" sees no series of "cap.load" with "tag.host=d"

  # ---- back-pressure ----

  Scenario: a full queue answers 503 with Retry-After, and nothing accepted is lost
    Given a server with its workers held back and settings:
      | PULSE_MAX_BACKLOG | 2 |
    And a tenant with a token scoped "ingest,read"
    When I post 5 samples of "bp.load" numbered from 0
    Then the answer is 202 with a request_id and accepted 5
    When the clock advances 1 second
    And I post 5 samples of "bp.load" numbered from 5
    Then the answer is 202 with a request_id and accepted 5
    When the clock advances 1 second
    And I post 5 samples of "bp.load" numbered from 10
    Then the answer is 503 with a JSON error
    And the answer carries a Retry-After of 1 to 60 seconds
    When the workers start
    Then within 5 seconds "bp.load" has 10 points
    And once the queue is drained "bp.load" still has 10 points
    When the clock advances 1 second
    And I post 5 samples of "bp.load" numbered from 10
    Then the answer is 202 with a request_id and accepted 5
    And within a second "bp.load" has 15 points

  # ---- the limits of DESIGN.md, each named ----

  Scenario Outline: a sample at a limit is accepted, one past it is refused with a message naming the limit
    Given a tenant with a token scoped "ingest,read"
    When I post a sample of "lim.load" with <at the limit>
    Then the answer is 202 with a request_id and accepted 1
    When I post a valid sample of "lim.over" and one with <past the limit>
    Then the answer is 422 with a JSON error
    And the errors list index 1 field "<field>" with a message containing "<message>"
    And nothing is stored for "lim.over"

    # Tag keys are written kkk…k; an error names a long key by its first 32 bytes.
    Examples:
      | at the limit             | past the limit           | field                                 | message                                  |
      | 32 tags                  | 33 tags                  | tags                                  | exceed the limit of 32 tags per sample   |
      | a tag key of 64 bytes    | a tag key of 65 bytes    | tags.kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk | tag key exceeds the limit of 64 bytes    |
      | a tag value of 256 bytes | a tag value of 257 bytes | tags.k                                | tag value exceeds the limit of 256 bytes |
      | a name of 200 bytes      | a name of 201 bytes      | name                                  | name exceeds the limit of 200 bytes      |

  Scenario Outline: a name outside the charset is refused with the charset in the message
    Given a tenant with a token scoped "ingest,read"
    When I post to /api/metrics:
      """
      [{"name":"_ok.name:1-a","value":1},{"name":<name>,"value":1}]
      """
    Then the answer is 422 with a JSON error
    And the errors list index 1 field "name" with a message containing "[A-Za-z_][A-Za-z0-9_.:-]*"
    And nothing is stored for "_ok.name:1-a"

    Examples:
      | name         |
      | "cpu load"   |
      | "9cpu"       |
      | "cpu/load"   |
      | "cpu\u00e9"  |
      | ".cpu"       |

  Scenario: a sample older than the tenant's retention is refused, a recent one accepted
    Given a tenant with a retention of 1 day and a token scoped "ingest,read"
    When I post to /api/metrics:
      """
      {"name":"old.load","value":1,"ts":"{{rfc3339 -25h}}"}
      """
    Then the answer is 422 with a JSON error
    And the errors list index 0 field "ts" with a message containing "older than the tenant's retention of 1 days"
    And nothing is stored for "old.load"
    When I post to /api/metrics:
      """
      {"name":"old.load","value":1,"ts":"{{rfc3339 -23h}}"}
      """
    Then the answer is 202 with a request_id and accepted 1

  Scenario: a sample more than 10 minutes ahead is refused, one 9 minutes ahead accepted
    Given a tenant with a token scoped "ingest,read"
    When I post to /api/metrics:
      """
      {"name":"future.load","value":1,"ts":"{{rfc3339 +11m}}"}
      """
    Then the answer is 422 with a JSON error
    And the errors list index 0 field "ts" with a message containing "in the future (limit max_future=10m0s)"
    And nothing is stored for "future.load"
    When I post to /api/metrics:
      """
      {"name":"future.load","value":1,"ts":"{{rfc3339 +9m}}"}
      """
    Then the answer is 202 with a request_id and accepted 1

  Scenario: more samples than allowed in one request is refused with 413 naming the limit
    Given a tenant with a token scoped "ingest,read"
    When I post 10001 samples of "cpu.load" in one request
    Then the answer is 413 with a JSON error naming the limit "samples_per_request" of 10000
    And nothing is stored for "cpu.load"

  Scenario: a body over the size limit is refused with 413 naming the limit
    Given a tenant with a token scoped "ingest,read"
    When I post a body of 6 MiB to /api/metrics
    Then the answer is 413 with a JSON error naming the limit "max_body_bytes" of 5242880

  Scenario: a gzip body is accepted, a gzip bomb is refused with 413 naming the decoded limit
    Given a tenant with a token scoped "ingest,read"
    When I post gzipped to /api/metrics:
      """
      [{"name":"gz.load","value":1},{"name":"gz.load","value":2,"tags":{"host":"b"}}]
      """
    Then the answer is 202 with a request_id and accepted 2
    When I post a gzip body that decodes to 20 MiB of zeros
    Then the answer is 413 with a JSON error naming the limit "max_decoded_bytes" of 5242880
    And within a second "gz.load" has 2 points
