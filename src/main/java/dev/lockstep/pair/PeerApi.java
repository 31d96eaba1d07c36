package dev.lockstep.pair;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;
import org.springframework.web.client.RestClientResponseException;

import dev.lockstep.https.ClientTls;

/**
 * The peer's API, as a pair operation calls it: every answer with its status and body,
 * whatever the status; only a transport failure throws.
 */
final class PeerApi {

	private final String base;

	private final Supplier<@Nullable String> token;

	private final RestClient quick;

	private final RestClient patient;

	/**
	 * @param peerApi the peer's base URL
	 * @param token the token to present
	 * @param timeout the deadline of a status query
	 * @param operationTimeout the deadline of a lifecycle call, which may synchronise
	 * disks
	 */
	PeerApi(URI peerApi, Supplier<@Nullable String> token, Duration timeout, Duration operationTimeout) {
		this(peerApi, token, timeout, operationTimeout, ClientTls.systemDefault());
	}

	/**
	 * @param peerApi the peer's base URL
	 * @param token the token to present
	 * @param timeout the deadline of a status query
	 * @param operationTimeout the deadline of a lifecycle call, which may synchronise
	 * disks
	 * @param tls the trust material and client certificate for an {@code https://} peer
	 */
	PeerApi(URI peerApi, Supplier<@Nullable String> token, Duration timeout, Duration operationTimeout, ClientTls tls) {
		String url = peerApi.toString();
		this.base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
		this.token = token;
		this.quick = client(timeout, timeout, tls);
		this.patient = client(timeout, operationTimeout, tls);
	}

	private static RestClient client(Duration connect, Duration read, ClientTls tls) {
		JdkClientHttpRequestFactory requestFactory = new JdkClientHttpRequestFactory(tls
			.configure(HttpClient.newBuilder().connectTimeout(connect).followRedirects(HttpClient.Redirect.NEVER))
			.build());
		requestFactory.setReadTimeout(read);
		return RestClient.builder().requestFactory(requestFactory).build();
	}

	/** The peer's base URL, for messages. */
	String base() {
		return this.base;
	}

	/** A GET with the status deadline. */
	Answer get(String path) {
		return exchange(this.quick.get().uri(URI.create(this.base + path)).headers(this::authorize));
	}

	/** A POST of a JSON body, or none, with the lifecycle deadline. */
	Answer post(String path, @Nullable String json) {
		RestClient.RequestBodySpec request = this.patient.post()
			.uri(URI.create(this.base + path))
			.headers(this::authorize);
		if (json != null) {
			request.contentType(MediaType.APPLICATION_JSON).body(json);
		}
		return exchange(request);
	}

	/** A PUT of a JSON body with the status deadline. */
	Answer put(String path, String json) {
		return exchange(this.quick.put()
			.uri(URI.create(this.base + path))
			.headers(this::authorize)
			.contentType(MediaType.APPLICATION_JSON)
			.body(json));
	}

	private Answer exchange(RestClient.RequestHeadersSpec<?> request) {
		try {
			ResponseEntity<byte[]> response = request
				.accept(MediaType.APPLICATION_JSON, MediaType.APPLICATION_PROBLEM_JSON)
				.retrieve()
				.toEntity(byte[].class);
			byte[] body = response.getBody();
			return new Answer(response.getStatusCode().value(), (body != null) ? body : new byte[0]);
		}
		catch (RestClientResponseException ex) {
			return new Answer(ex.getStatusCode().value(), ex.getResponseBodyAsByteArray());
		}
		catch (RestClientException ex) {
			String check = ClientTls.describe(ex).isPresent()
					? "check lockstep.pair.peer-ssl-bundle and the peer's certificate"
					: "check lockstep.pair.peer-api and that the peer runs";
			throw new PairRefusedException(
					"The peer " + this.base + " could not be reached: " + PeerFailoverGuard.message(ex) + "; " + check,
					false);
		}
	}

	private void authorize(HttpHeaders headers) {
		String presented = this.token.get();
		if (presented != null) {
			headers.setBearerAuth(presented);
		}
	}

	/** One answer of the peer: its status and its body. */
	static final class Answer {

		private final int status;

		private final byte[] body;

		Answer(int status, byte[] body) {
			this.status = status;
			this.body = body.clone();
		}

		int status() {
			return this.status;
		}

		byte[] body() {
			return this.body.clone();
		}

		boolean ok() {
			return this.status >= 200 && this.status < 300;
		}

	}

}
