package dev.lockstep.events;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.lockstep.TestClients;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client of {@code GET /api/v1/events} on a quiet node gets the response's headers and
 * a first comment at once, not after the first event or keep-alive: clients and proxies
 * that wait for the headers with a timeout would otherwise give up on a healthy stream.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false", "lockstep.events.keep-alive=60s" })
class EventStreamOpeningTests {

	@LocalServerPort
	private int port;

	@Test
	void aQuietStreamAnswersAtOnceWithItsHeadersAndAComment() throws Exception {
		HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + this.port + "/api/v1/events"))
			.header("Authorization", "Bearer " + TestClients.TOKEN)
			.header("Accept", "text/event-stream")
			.build();
		CompletableFuture<HttpResponse<InputStream>> pending = HttpClient.newHttpClient()
			.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream());
		HttpResponse<InputStream> response = pending.get(10, TimeUnit.SECONDS);
		try (BufferedReader body = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
			assertThat(response.statusCode()).isEqualTo(200);
			assertThat(response.headers().firstValue("Content-Type"))
				.hasValueSatisfying((type) -> assertThat(type).startsWith("text/event-stream"));
			CompletableFuture<String> firstLine = CompletableFuture.supplyAsync(() -> {
				try {
					return body.readLine();
				}
				catch (IOException ex) {
					throw new UncheckedIOException(ex);
				}
			});
			assertThat(firstLine.get(10, TimeUnit.SECONDS)).isEqualTo(":connected");
		}
	}

}
