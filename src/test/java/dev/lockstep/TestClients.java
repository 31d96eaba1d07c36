package dev.lockstep;

import org.springframework.http.HttpHeaders;
import org.springframework.test.web.servlet.client.RestTestClient;

/**
 * HTTP clients for tests against a running service, carrying the test API token from
 * {@code src/test/resources/config/application.yaml}.
 */
public final class TestClients {

	/** The API token every test context is configured with. */
	public static final String TOKEN = "test-token";

	private TestClients() {
	}

	/**
	 * Returns a client for the service on the given loopback port that presents the API
	 * token.
	 */
	public static RestTestClient authenticated(int port) {
		return RestTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + port)
			.defaultHeader(HttpHeaders.AUTHORIZATION, "Bearer " + TOKEN)
			.build();
	}

	/**
	 * Returns a client for the service on the given loopback port without a token.
	 */
	public static RestTestClient anonymous(int port) {
		return RestTestClient.bindToServer().baseUrl("http://127.0.0.1:" + port).build();
	}

}
