package dev.lockstep.pair;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import dev.lockstep.replication.FailoverCheck;
import dev.lockstep.replication.FailoverGuard;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.web.client.ResourceAccessException;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;
import org.springframework.web.client.RestClientResponseException;

import dev.lockstep.https.ClientTls;

/**
 * Asks the peer's API, before this secondary fails over, whether the peer still runs as
 * primary. Only a peer that answers within the deadline that it is {@code RUNNING} as
 * primary refuses the failover, whatever errors its participants report: a primary that
 * still answers may still be writing. An unreachable peer, one that does not answer in
 * time, answers an error, or runs in any other state lets the failover proceed.
 */
final class PeerFailoverGuard implements FailoverGuard {

	static final String STATUS_PATH = "/api/v1/replication";

	private final URI status;

	private final String peer;

	private final Supplier<@Nullable String> token;

	private final Duration timeout;

	private final RestClient client;

	private final JsonMapper jsonMapper;

	/**
	 * Runs each check on a thread of its own, so that the caller waits no longer than the
	 * deadline.
	 */
	private final Executor executor = (task) -> {
		Thread thread = new Thread(task, "lockstep-peer-check");
		thread.setDaemon(true);
		thread.start();
	};

	PeerFailoverGuard(URI peerApi, Supplier<@Nullable String> token, Duration timeout, JsonMapper jsonMapper) {
		this(peerApi, token, timeout, jsonMapper, ClientTls.systemDefault());
	}

	PeerFailoverGuard(URI peerApi, Supplier<@Nullable String> token, Duration timeout, JsonMapper jsonMapper,
			ClientTls tls) {
		String base = peerApi.toString();
		this.peer = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
		this.status = URI.create(this.peer + STATUS_PATH);
		this.token = token;
		this.timeout = timeout;
		this.jsonMapper = jsonMapper;
		JdkClientHttpRequestFactory requestFactory = new JdkClientHttpRequestFactory(tls
			.configure(java.net.http.HttpClient.newBuilder()
				.connectTimeout(timeout)
				.followRedirects(java.net.http.HttpClient.Redirect.NEVER))
			.build());
		requestFactory.setReadTimeout(timeout);
		this.client = RestClient.builder().requestFactory(requestFactory).build();
	}

	@Override
	public FailoverCheck check() {
		CompletableFuture<FailoverCheck> answer = CompletableFuture.supplyAsync(this::ask, this.executor);
		try {
			return answer.get(this.timeout.toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (TimeoutException ex) {
			answer.cancel(true);
			return FailoverCheck.proceed(this.peer, "did not answer within " + describe(this.timeout));
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			answer.cancel(true);
			return FailoverCheck.proceed(this.peer, "was not heard: the check was interrupted");
		}
		catch (ExecutionException ex) {
			return FailoverCheck.proceed(this.peer, "could not be asked: " + message(ex.getCause()));
		}
	}

	private FailoverCheck ask() {
		ResponseEntity<byte[]> response;
		try {
			response = this.client.get()
				.uri(this.status)
				.accept(MediaType.APPLICATION_JSON)
				.headers(this::authorize)
				.retrieve()
				.toEntity(byte[].class);
		}
		catch (RestClientResponseException ex) {
			return FailoverCheck.proceed(this.peer, "answered " + statusLine(ex.getStatusCode().value()));
		}
		catch (ResourceAccessException ex) {
			return FailoverCheck.proceed(this.peer, "could not be reached: " + message(ex));
		}
		catch (RestClientException ex) {
			return FailoverCheck.proceed(this.peer, "could not be asked: " + message(ex));
		}
		Optional<PeerStatus> status = read(response.getBody());
		if (status.isEmpty()) {
			return FailoverCheck.proceed(this.peer, "answered " + statusLine(response.getStatusCode().value())
					+ " with something that is not a replication status");
		}
		PeerStatus peerStatus = status.get();
		String answer = "answered " + peerStatus.describe();
		return peerStatus.runningAsPrimary() ? FailoverCheck.refuse(this.peer, answer)
				: FailoverCheck.proceed(this.peer, answer);
	}

	private void authorize(HttpHeaders headers) {
		String presented = this.token.get();
		if (presented != null) {
			headers.setBearerAuth(presented);
		}
	}

	private Optional<PeerStatus> read(byte @Nullable [] body) {
		if (body == null || body.length == 0) {
			return Optional.empty();
		}
		try {
			return PeerStatus.read(this.jsonMapper.readTree(body));
		}
		catch (JacksonException ex) {
			return Optional.empty();
		}
	}

	static String statusLine(int status) {
		HttpStatus known = HttpStatus.resolve(status);
		return "HTTP " + status + ((known != null) ? " " + known.getReasonPhrase() : "");
	}

	/**
	 * A TLS failure's description, else the innermost message: the JDK client's own
	 * exceptions often have none.
	 */
	static String message(@Nullable Throwable ex) {
		Optional<String> tlsFailure = ClientTls.describe(ex);
		if (tlsFailure.isPresent()) {
			return tlsFailure.get();
		}
		String found = null;
		String type = "I/O error";
		for (Throwable candidate = ex; candidate != null; candidate = candidate.getCause()) {
			if (candidate.getMessage() != null && !candidate.getMessage().isBlank()) {
				found = candidate.getMessage();
			}
			type = candidate.getClass().getSimpleName();
			if (candidate.getCause() == candidate) {
				break;
			}
		}
		return (found != null) ? found : type;
	}

	private static String describe(Duration duration) {
		long millis = duration.toMillis();
		return (millis % 1000 == 0) ? (millis / 1000) + "s" : millis + "ms";
	}

}
