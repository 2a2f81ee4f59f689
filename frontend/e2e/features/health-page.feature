Feature: Health page
  A super-admin sees Pulse's own figures, which the e2e server records every second
  (PULSE_HEALTH_EVERY=1s) into the internal tenant through the ingest path.

  Scenario: The Health page shows Pulse's own figures after a load
    Given a tenant with a token and a user
    When a load of 20 requests of 1000 samples each is posted through the REST API over 4 seconds
    And a super-admin logs in and opens the Health page
    Then the "Samples accepted" panel shows the tenant's load in its data table
    And the HTTP ingest latency and queue panels show figures too
    And the "Live streams (SSE)" panel counts the page's own stream
    And a full-page screenshot of the Health page is saved to "docs/images/health.png"
