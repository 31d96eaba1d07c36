package dev.lockstep.remote;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpStatus;

import dev.lockstep.https.ClientTls;

/**
 * The HTTP side of the remote participant protocol, shared by every remote participant:
 * one pooled keep-alive HTTP/1.1 client, with a connect timeout, and the rules that turn
 * a response into success or a failure message.
 * <ul>
 * <li>Any 2xx status is success; the body is ignored.</li>
 * <li>Any other status is a failure. Its message is the response's JSON {@code detail},
 * {@code error} or {@code message} field, the first one present, followed by the status
 * line and the request; without one of those fields, it is the status line and the
 * request.</li>
 * <li>A refused connection, any other I/O error and a timeout are failures whose message
 * says what happened and to which URL.</li>
 * <li>A TLS failure says so, and why: a server certificate that is not trusted, has
 * expired or names another host, or a failed handshake.</li>
 * </ul>
 * One client calls every participant that shares an SSL bundle.
 */
final class RemoteParticipantClient {

	/** Longest failure message taken from a response body. */
	private static final int MAX_MESSAGE_LENGTH = 1000;

	private static final String[] MESSAGE_FIELDS = { "detail", "error", "message" };

	private final HttpClient httpClient;

	private final JsonMapper jsonMapper;

	private final Duration connectTimeout;

	private final ClientTls tls;

	RemoteParticipantClient(JsonMapper jsonMapper, Duration connectTimeout) {
		this(jsonMapper, connectTimeout, ClientTls.systemDefault());
	}

	/**
	 * @param jsonMapper reads and writes bodies
	 * @param connectTimeout the deadline of a TCP connection
	 * @param tls the trust material and client certificate for {@code https://} URLs
	 */
	RemoteParticipantClient(JsonMapper jsonMapper, Duration connectTimeout, ClientTls tls) {
		this.jsonMapper = jsonMapper;
		this.connectTimeout = connectTimeout;
		this.tls = tls;
		this.httpClient = tls
			.configure(HttpClient.newBuilder()
				.version(HttpClient.Version.HTTP_1_1)
				.connectTimeout(connectTimeout)
				.followRedirects(HttpClient.Redirect.NEVER))
			.build();
	}

	/**
	 * POSTs a JSON body and waits for a 2xx answer.
	 * @param uri where to
	 * @param body the JSON body, as a map
	 * @param timeout the deadline of the whole exchange
	 * @throws RemoteParticipantException if the answer is not 2xx, or there is none
	 * @throws InterruptedException if the calling thread is interrupted; the request is
	 * then abandoned
	 */
	void post(URI uri, Map<String, Object> body, Duration timeout)
			throws RemoteParticipantException, InterruptedException {
		HttpRequest request = HttpRequest.newBuilder(uri)
			.timeout(timeout)
			.header("Content-Type", "application/json")
			.header("Accept", "application/json")
			.POST(HttpRequest.BodyPublishers.ofByteArray(this.jsonMapper.writeValueAsBytes(body)))
			.build();
		HttpResponse<byte[]> response;
		try {
			response = this.httpClient.send(request, HttpResponse.BodyHandlers.ofByteArray());
		}
		catch (IOException ex) {
			throw new RemoteParticipantException(describeFailure(request, timeout, ex), ex);
		}
		if (!isSuccess(response.statusCode())) {
			throw new RemoteParticipantException(failureMessage(request, response));
		}
	}

	/**
	 * GETs a URL without blocking the caller.
	 * @param uri where from
	 * @param timeout the deadline of the whole exchange
	 * @return the response, or a failure with a {@link RemoteParticipantException} whose
	 * message says what happened
	 */
	CompletableFuture<HttpResponse<byte[]>> getAsync(URI uri, Duration timeout) {
		HttpRequest request = HttpRequest.newBuilder(uri)
			.timeout(timeout)
			.header("Accept", "application/json")
			.GET()
			.build();
		return this.httpClient.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
			.exceptionallyCompose((ex) -> CompletableFuture.failedFuture(
					new RemoteParticipantException(describeFailure(request, timeout, unwrap(ex)), unwrap(ex))));
	}

	/**
	 * Reads a JSON object from a response body.
	 * @return the object, or empty if the body is not a JSON object
	 */
	Optional<JsonNode> readObject(byte @Nullable [] body) {
		if (body == null || body.length == 0) {
			return Optional.empty();
		}
		try {
			JsonNode node = this.jsonMapper.readTree(body);
			return (node != null && node.isObject()) ? Optional.of(node) : Optional.empty();
		}
		catch (JacksonException ex) {
			return Optional.empty();
		}
	}

	static boolean isSuccess(int status) {
		return status >= 200 && status < 300;
	}

	/**
	 * Returns the failure message of a response whose status is not 2xx.
	 */
	String failureMessage(HttpRequest request, HttpResponse<byte[]> response) {
		String statusLine = statusLine(response.statusCode()) + " from " + request.method() + " " + request.uri();
		return readObject(response.body()).flatMap(RemoteParticipantClient::messageField)
			.map((message) -> message + " (" + statusLine + ")")
			.orElse(statusLine);
	}

	private static Optional<String> messageField(JsonNode body) {
		for (String field : MESSAGE_FIELDS) {
			JsonNode value = body.get(field);
			if (value != null && value.isString() && !value.asString().isBlank()) {
				return Optional.of(truncate(value.asString().strip()));
			}
		}
		return Optional.empty();
	}

	static String truncate(String message) {
		return (message.length() <= MAX_MESSAGE_LENGTH) ? message : message.substring(0, MAX_MESSAGE_LENGTH) + "…";
	}

	static String statusLine(int status) {
		HttpStatus known = HttpStatus.resolve(status);
		return "HTTP " + status + ((known != null) ? " " + known.getReasonPhrase() : "");
	}

	private String describeFailure(HttpRequest request, Duration timeout, Throwable ex) {
		String call = request.method() + " " + request.uri();
		Optional<String> tlsFailure = ClientTls.describe(ex);
		if (tlsFailure.isPresent()) {
			return call + " failed: " + tlsFailure.get() + "; the client trusts " + this.tls.source();
		}
		if (ex instanceof HttpConnectTimeoutException) {
			return "could not connect for " + call + " within " + describe(this.connectTimeout);
		}
		if (ex instanceof HttpTimeoutException) {
			return "no response to " + call + " within " + describe(timeout);
		}
		if (ex instanceof ConnectException || ex.getCause() instanceof ConnectException) {
			return "could not connect for " + call + ": " + rootMessage(ex, "connection refused");
		}
		String failure = call + " failed: " + rootMessage(ex, "I/O error");
		if ("https".equalsIgnoreCase(request.uri().getScheme()) && !this.tls.hasClientCertificate()) {
			// With TLS 1.3 a server that needs a client certificate closes the connection
			// after the handshake, which the client sees as a plain I/O error
			return failure + " (over HTTPS without a client certificate: " + this.tls.source()
					+ " has no key, and a server that needs one closes the connection)";
		}
		return failure;
	}

	private static Throwable unwrap(Throwable ex) {
		while ((ex instanceof CompletionException || ex instanceof ExecutionException) && ex.getCause() != null) {
			ex = ex.getCause();
		}
		return ex;
	}

	/** The JDK client often throws exceptions without a message; look into the causes. */
	private static String rootMessage(Throwable ex, String fallback) {
		for (Throwable candidate = ex; candidate != null; candidate = candidate.getCause()) {
			String message = candidate.getMessage();
			if (message != null && !message.isBlank()) {
				return message;
			}
			if (candidate.getCause() == candidate) {
				break;
			}
		}
		return fallback + " (" + ex.getClass().getSimpleName() + ")";
	}

	static String describe(Duration duration) {
		return (duration.toMillis() % 1000 == 0) ? duration.toSeconds() + "s" : duration.toMillis() + "ms";
	}

}
