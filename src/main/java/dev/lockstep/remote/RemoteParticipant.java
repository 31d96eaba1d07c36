package dev.lockstep.remote;

import org.jspecify.annotations.Nullable;

import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import tools.jackson.databind.JsonNode;

import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.ReplicationParticipant;

/**
 * A participant in another process, driven over HTTP with JSON: <pre>
 * POST {url}/start       {"mode":"primary"} or {"mode":"secondary"}
 * POST {url}/checkpoint  {}
 * GET  {url}/error       answers {"error":null} or {"error":"message"}
 * POST {url}/stop        {"failover":true} or {"failover":false}
 * POST {url}/pause       {}   only with phases: true
 * POST {url}/resume      {}   only with phases: true
 * </pre> A lifecycle call succeeds on any 2xx status and fails on any other status, a
 * refused connection or a timeout; see {@link RemoteParticipantClient} for the failure
 * messages.
 *
 * <h2>Errors</h2> {@link #error()} never makes an HTTP call on the caller's thread.
 * Instead the participant's {@code /error} is polled in the background, at a fixed
 * interval, from the moment the participant is registered, in every coordinator state,
 * and {@code error()} returns what the polls and lifecycle calls have seen:
 * <ul>
 * <li>the failure of the most recent {@code checkpoint} or {@code stop} of this
 * participant, or of a {@code start} abandoned at its deadline, until a later call to it
 * succeeds. A {@code start} that the remote refused is not reported as an error: the
 * participant is left stopped, and the operation report says why;</li>
 * <li>the error the remote reported in its last {@code /error} answer, or the failure of
 * that poll if it answered with a status other than 2xx or with a body that is not
 * {@code {"error":…}};</li>
 * <li>{@code remote participant unreachable at <url> since <time>: <cause>} once two
 * polls in a row got no answer (refused, reset or timed out). A single lost poll is not
 * reported, so that a short hiccup does not make health flap.</li>
 * </ul>
 * Polled errors are reported in every state, including while the coordinator is idle: the
 * remote decides what it reports then, and an unreachable remote would make the next
 * start fail, so the node should not count as ready.
 *
 * <h2>Deadlines</h2> {@link #timeout()} is the configured {@code timeout}, if any. Each
 * lifecycle request's own HTTP timeout is that deadline plus a second, so that the
 * coordinator's deadline fires first and reports the call as {@code timed_out}; the
 * coordinator then interrupts the call, which abandons the request.
 */
public final class RemoteParticipant implements ReplicationParticipant {

	/** Polls in a row that must get no answer before the remote counts as unreachable. */
	static final int UNREACHABLE_AFTER = 2;

	/** Added to the deadline for a lifecycle request's own HTTP timeout. */
	private static final Duration REQUEST_TIMEOUT_MARGIN = Duration.ofSeconds(1);

	private final String name;

	private final URI url;

	private final int order;

	private final @Nullable Duration timeout;

	private final Duration requestTimeout;

	private final Duration pollTimeout;

	private final RemoteParticipantClient client;

	private final Clock clock;

	private final URI startUri;

	private final URI checkpointUri;

	private final URI errorUri;

	private final URI stopUri;

	/** Where the phases are sent, or null for a participant without them. */
	private final @Nullable URI pauseUri;

	private final @Nullable URI resumeUri;

	private final AtomicBoolean polling = new AtomicBoolean();

	/** The failure of the most recent lifecycle call, or null. */
	private volatile @Nullable String lifecycleFailure;

	/** Written only by the single poll in flight. */
	private volatile PollState pollState = PollState.UNKNOWN;

	/**
	 * Creates a participant.
	 * @param name the unique name
	 * @param url the base URL to which the protocol's paths are appended
	 * @param order the position in the lifecycle order
	 * @param timeout the configured deadline of each lifecycle call, or null
	 * @param defaultTimeout the coordinator's default deadline
	 * @param pollTimeout the deadline of each {@code /error} poll
	 * @param client the shared HTTP client
	 * @param clock the clock for the times shown in errors
	 */
	RemoteParticipant(String name, URI url, int order, @Nullable Duration timeout, Duration defaultTimeout,
			Duration pollTimeout, RemoteParticipantClient client, Clock clock) {
		this(name, url, order, timeout, defaultTimeout, pollTimeout, client, clock, false);
	}

	/**
	 * Creates a participant that may implement the phases of a paused checkpoint.
	 * @param name the unique name
	 * @param url the base URL to which the protocol's paths are appended
	 * @param order the position in the lifecycle order
	 * @param timeout the configured deadline of each lifecycle call, or null
	 * @param defaultTimeout the coordinator's default deadline
	 * @param pollTimeout the deadline of each {@code /error} poll
	 * @param client the shared HTTP client
	 * @param clock the clock for the times shown in errors
	 * @param phases whether {@code pause} and {@code resume} are sent to the remote
	 */
	RemoteParticipant(String name, URI url, int order, @Nullable Duration timeout, Duration defaultTimeout,
			Duration pollTimeout, RemoteParticipantClient client, Clock clock, boolean phases) {
		this.name = name;
		this.url = url;
		this.order = order;
		this.timeout = timeout;
		this.requestTimeout = ((timeout != null) ? timeout : defaultTimeout).plus(REQUEST_TIMEOUT_MARGIN);
		this.pollTimeout = pollTimeout;
		this.client = client;
		this.clock = clock;
		String base = url.toString().replaceAll("/+$", "");
		this.startUri = URI.create(base + "/start");
		this.checkpointUri = URI.create(base + "/checkpoint");
		this.errorUri = URI.create(base + "/error");
		this.stopUri = URI.create(base + "/stop");
		this.pauseUri = phases ? URI.create(base + "/pause") : null;
		this.resumeUri = phases ? URI.create(base + "/resume") : null;
	}

	@Override
	public String name() {
		return this.name;
	}

	/**
	 * Returns the base URL.
	 */
	public URI url() {
		return this.url;
	}

	/**
	 * Returns the position in the lifecycle order.
	 */
	public int order() {
		return this.order;
	}

	@Override
	public Optional<Duration> timeout() {
		return Optional.ofNullable(this.timeout);
	}

	@Override
	public void start(ReplicationMode mode) throws Exception {
		try {
			call(this.startUri, Map.of("mode", mode.value()));
		}
		catch (RemoteParticipantException ex) {
			// A participant whose start failed is left stopped: the report carries the
			// failure, and the participant has no fault to report.
			this.lifecycleFailure = null;
			throw ex;
		}
	}

	@Override
	public void checkpoint() throws Exception {
		call(this.checkpointUri, Map.of());
	}

	@Override
	public void stop(boolean failover) throws Exception {
		call(this.stopUri, Map.of("failover", failover));
	}

	/**
	 * With phases, sends {@code POST {url}/pause}; the coordinator interrupts it, and so
	 * abandons the request, at {@code lockstep.pair.max-pause}. Without, does nothing.
	 */
	@Override
	public void pause() throws Exception {
		URI uri = this.pauseUri;
		if (uri != null) {
			call(uri, Map.of());
		}
	}

	/**
	 * With phases, sends {@code POST {url}/resume}; without, does nothing.
	 */
	@Override
	public void resume() throws Exception {
		URI uri = this.resumeUri;
		if (uri != null) {
			call(uri, Map.of());
		}
	}

	private void call(URI uri, Map<String, Object> body) throws RemoteParticipantException, InterruptedException {
		try {
			this.client.post(uri, body, this.requestTimeout);
			this.lifecycleFailure = null;
		}
		catch (RemoteParticipantException ex) {
			this.lifecycleFailure = ex.getMessage();
			throw ex;
		}
		catch (InterruptedException ex) {
			this.lifecycleFailure = "POST " + uri + " was abandoned at " + now() + " without an answer";
			throw ex;
		}
	}

	/**
	 * Returns the latest error known from lifecycle calls and background polls, without
	 * any I/O.
	 */
	@Override
	public Optional<String> error() {
		String lifecycle = this.lifecycleFailure;
		String polled = this.pollState.error();
		if (lifecycle == null) {
			return Optional.ofNullable(polled);
		}
		if (polled == null || polled.equals(lifecycle)) {
			return Optional.of(lifecycle);
		}
		return Optional.of(lifecycle + "; " + polled);
	}

	@Override
	public Map<String, Object> details() {
		PollState state = this.pollState;
		Map<String, Object> details = new LinkedHashMap<>();
		details.put("url", this.url.toString());
		if (this.pauseUri != null) {
			details.put("phases", true);
		}
		if (state.polledAt() != null) {
			details.put("errorPolledAt", state.polledAt().toString());
		}
		if (state.unreachableSince() != null) {
			details.put("unreachableSince", state.unreachableSince().toString());
		}
		return details;
	}

	/**
	 * Polls {@code /error} once, unless a poll is still in flight. Never blocks.
	 * @return completes when the poll has been recorded
	 */
	CompletableFuture<Void> poll() {
		if (!this.polling.compareAndSet(false, true)) {
			return CompletableFuture.completedFuture(null);
		}
		try {
			return this.client.getAsync(this.errorUri, this.pollTimeout).handle((response, ex) -> {
				try {
					this.pollState = (ex != null) ? unanswered(ex) : answered(response);
				}
				finally {
					this.polling.set(false);
				}
				return null;
			});
		}
		catch (RuntimeException ex) {
			this.pollState = unanswered(ex);
			this.polling.set(false);
			return CompletableFuture.completedFuture(null);
		}
	}

	private PollState answered(HttpResponse<byte[]> response) {
		Instant now = now();
		if (!RemoteParticipantClient.isSuccess(response.statusCode())) {
			return new PollState(this.client.failureMessage(response.request(), response), now, null, 0);
		}
		JsonNode body = this.client.readObject(response.body()).orElse(null);
		JsonNode error = (body != null) ? body.get("error") : null;
		if (error == null || !(error.isNull() || error.isString())) {
			return new PollState("invalid answer from GET " + this.errorUri
					+ ": expected {\"error\":null} or {\"error\":\"message\"}", now, null, 0);
		}
		String message = error.isNull() ? null : error.asString().strip();
		return new PollState((message == null || message.isEmpty()) ? null : RemoteParticipantClient.truncate(message),
				now, null, 0);
	}

	private PollState unanswered(Throwable ex) {
		Throwable cause = (ex.getCause() != null && !(ex instanceof RemoteParticipantException)) ? ex.getCause() : ex;
		String reason = (cause.getMessage() != null) ? cause.getMessage() : cause.getClass().getSimpleName();
		PollState previous = this.pollState;
		Instant now = now();
		Instant since = (previous.unreachableSince() != null) ? previous.unreachableSince() : now;
		int failures = previous.failures() + 1;
		String error = (failures >= UNREACHABLE_AFTER)
				? "remote participant unreachable at " + this.url + " since " + since + ": " + reason
				: previous.error();
		return new PollState(error, previous.polledAt(), since, failures);
	}

	private Instant now() {
		return this.clock.instant().truncatedTo(ChronoUnit.MILLIS);
	}

	@Override
	public String toString() {
		return "remote participant '" + this.name + "' at " + this.url;
	}

	/**
	 * What the polls have seen.
	 *
	 * @param error the error to report, or null
	 * @param polledAt when the remote last answered
	 * @param unreachableSince when the polls began to get no answer, or null
	 * @param failures polls in a row that got no answer
	 */
	private record PollState(@Nullable String error, @Nullable Instant polledAt, @Nullable Instant unreachableSince,
			int failures) {

		static final PollState UNKNOWN = new PollState(null, null, null, 0);

	}

}
