package dev.lockstep.events;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.lockstep.LockstepApplication;
import dev.lockstep.TestClients;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.ReplicationMode;
import org.junit.jupiter.api.Test;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node that shuts down ends its event streams: a stream never ends by itself, and the
 * web server's graceful shutdown waits for every open request, so an open stream would
 * hold the shutdown for its whole timeout (30 s) and Kubernetes would kill the node
 * instead.
 */
class EventStreamShutdownTests {

	@Test
	void shuttingDownEndsOpenStreamsAfterTheirQueuedEvents() throws Exception {
		ConfigurableApplicationContext context = new SpringApplicationBuilder(LockstepApplication.class).run(
				"--server.port=0", "--server.address=127.0.0.1", "--lockstep.block.enabled=false",
				"--lockstep.events.keep-alive=10m", "--spring.lifecycle.timeout-per-shutdown-phase=60s",
				"--spring.main.banner-mode=off", "--logging.level.root=WARN");
		try {
			int port = context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
			HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/events"))
				.header("Authorization", "Bearer " + TestClients.TOKEN)
				.header("Accept", "text/event-stream")
				.build();
			HttpResponse<InputStream> response = HttpClient.newHttpClient()
				.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
				.get(10, TimeUnit.SECONDS);
			BufferedReader body = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
			try {
				assertThat(body.readLine()).isEqualTo(":connected");
				CompletableFuture<List<String>> rest = CompletableFuture.supplyAsync(() -> {
					List<String> lines = new ArrayList<>();
					try {
						for (String line = body.readLine(); line != null; line = body.readLine()) {
							lines.add(line);
						}
					}
					catch (java.io.IOException ex) {
						lines.add("failed: " + ex);
					}
					return lines;
				});
				context.getBean(ReplicationCoordinator.class).start(ReplicationMode.PRIMARY, "test");
				CompletableFuture<Void> closing = CompletableFuture.runAsync(context::close);
				// The stream ends without waiting for a keep-alive or the shutdown's
				// timeout.
				List<String> lines = rest.get(20, TimeUnit.SECONDS);
				assertThat(lines).anySatisfy((line) -> assertThat(line).isEqualTo("event:operation"));
				assertThat(lines).noneSatisfy((line) -> assertThat(line).startsWith("failed"));
				closing.get(20, TimeUnit.SECONDS);
			}
			finally {
				// Not the reader's close, which waits for a read in progress
				response.body().close();
			}
		}
		finally {
			context.close();
		}
	}

}
