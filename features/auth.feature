Feature: API tokens and tenant isolation
  Machine clients authenticate with the X-API-Token header. A missing,
  malformed, unknown or revoked token answers 401; a valid token lacking the
  scope of the route answers 403. Both answers are JSON with an "error". The
  tenant of every request comes from its token only.

  Scenario Outline: a request without a usable token is refused with 401
    Given a tenant with a token scoped "ingest,read"
    When I call <route> with <which> token
    Then the answer is 401 with a JSON error

    Examples:
      | route                  | which       |
      | POST /api/metrics      | no          |
      | GET /api/metrics/query | no          |
      | POST /api/metrics      | an unknown  |
      | GET /api/metrics/query | an unknown  |
      | POST /api/metrics      | a malformed |
      | POST /api/metrics      | a "Bearer"  |
      | POST /api/metrics      | a truncated |
      | POST /api/metrics      | a tampered  |

  Scenario: a revoked token is refused with 401
    Given a tenant with a token scoped "ingest,read"
    And I post a sample of "cpu.load" and the answer is 202
    When the token is revoked
    And I call POST /api/metrics with my token
    Then the answer is 401 with a JSON error
    When I call GET /api/metrics/query with my token
    Then the answer is 401 with a JSON error

  Scenario: an ingest-only token cannot query
    Given a tenant with a token scoped "ingest"
    When I call GET /api/metrics/query with my token
    Then the answer is 403 with a JSON error
    When I call POST /api/metrics with my token
    Then the answer is 202 with a request_id and accepted 1

  Scenario: a read-only token cannot ingest
    Given a tenant with a token scoped "read"
    When I call POST /api/metrics with my token
    Then the answer is 403 with a JSON error
    When I call GET /api/metrics/query with my token
    Then the answer is 200

  Scenario: a tenant never sees another tenant's metric of the same name
    Given tenants "acme" and "globex", each with a token scoped "ingest,read"
    When "acme" posts {"name":"cpu.load","value":7,"tags":{"host":"a"}}
    Then within a second "acme" sees 1 point of "cpu.load"
    And "globex" sees no series of "cpu.load"
    When "globex" posts {"name":"cpu.load","value":9,"tags":{"host":"a"}}
    Then within a second "globex" sees 1 point of "cpu.load"
    And "globex" sees only the value 9 in "cpu.load"
    And "acme" sees only the value 7 in "cpu.load"

  Scenario: the tenant named in a body is ignored
    Given tenants "acme" and "globex", each with a token scoped "ingest,read"
    When "acme" posts a sample of "secret.metric" naming "globex" as its tenant
    Then within a second "acme" sees 1 point of "secret.metric"
    And "globex" sees no series of "secret.metric"
