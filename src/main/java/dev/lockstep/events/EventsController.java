package dev.lockstep.events;

import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * {@code GET /api/v1/events}: the event stream, one thread per client.
 */
@RestController
@Tag(name = "events", description = "Follow the node as it changes")
@SecurityRequirement(name = "bearer")
class EventsController implements DisposableBean {

	static final String PROBLEM_JSON = "application/problem+json";

	private final EventLog log;

	private final EventsProperties properties;

	private final ExecutorService senders;

	EventsController(EventLog log, EventsProperties properties) {
		this.log = log;
		this.properties = properties;
		AtomicInteger threads = new AtomicInteger();
		this.senders = Executors.newCachedThreadPool((task) -> {
			Thread thread = new Thread(task, "lockstep-events-" + threads.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		});
	}

	@GetMapping(path = "/api/v1/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
	@Operation(summary = "Stream what happens on this node as Server-Sent Events",
			description = "Events: `state` (the coordinator's state changed), `operation` (an operation started, "
					+ "a step finished, it finished; with the report), `error` (a participant's error raised or "
					+ "cleared, as the error sweep sees it), `sync` (a disk's synchronisation or verify progress, at "
					+ "most once a second per disk). Every event has an increasing `id`; a client that reconnects "
					+ "with `Last-Event-ID` gets the events it missed from the last lockstep.events.replay (1000), "
					+ "or a `missed` event when they are no longer kept. The stream opens with a `:connected` comment, "
					+ "so that its headers come at once. A comment every lockstep.events.keep-alive "
					+ "(15 s) keeps proxies from closing the stream. A client more than "
					+ "lockstep.events.client-buffer (256) events behind is dropped; nobody waits for it. When the node "
					+ "shuts down, every stream ends after the events already queued for it.")
	@ApiResponse(responseCode = "200", description = "The stream; it ends only when the node shuts down",
			content = @Content(mediaType = MediaType.TEXT_EVENT_STREAM_VALUE, schema = @Schema(type = "string")))
	@ApiResponse(responseCode = "400", description = "`Last-Event-ID` is not a number",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(ref = "#/components/schemas/Problem")))
	@ApiResponse(responseCode = "401", description = "No API token, or a wrong one",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(ref = "#/components/schemas/Problem")))
	@ApiResponse(responseCode = "503", description = "The node is shutting down",
			content = @Content(mediaType = PROBLEM_JSON, schema = @Schema(ref = "#/components/schemas/Problem")))
	SseEmitter events(@Parameter(in = ParameterIn.HEADER,
			description = "The id of the last event seen, to resume after it") @RequestHeader(name = "Last-Event-ID",
					required = false) @Nullable String lastEventId) {
		Long resumeAfter = parse(lastEventId);
		EventLog.Subscription subscription = this.log.subscribe(resumeAfter);
		if (subscription == null) {
			throw new ResponseStatusException(HttpStatus.SERVICE_UNAVAILABLE,
					"This node is shutting down; reconnect when it is back, with Last-Event-ID");
		}
		SseEmitter emitter = new SseEmitter(0L);
		EventSender sender = new EventSender(this.log, subscription, new EmitterSink(emitter),
				this.properties.keepAlive());
		emitter.onCompletion(() -> this.log.unsubscribe(subscription));
		this.senders.execute(sender);
		return emitter;
	}

	@Override
	public void destroy() {
		this.senders.shutdownNow();
	}

	private static @Nullable Long parse(@Nullable String lastEventId) {
		if (lastEventId == null || lastEventId.isBlank()) {
			return null;
		}
		try {
			return Long.parseLong(lastEventId.strip());
		}
		catch (NumberFormatException ex) {
			throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
					"Last-Event-ID must be the id of an event of this stream, a whole number");
		}
	}

	/**
	 * Writes events to an {@link SseEmitter}.
	 */
	private static final class EmitterSink implements EventSink {

		private final SseEmitter emitter;

		EmitterSink(SseEmitter emitter) {
			this.emitter = emitter;
		}

		@Override
		public void send(Event event) throws IOException {
			this.emitter.send(SseEmitter.event()
				.id(Long.toString(event.id()))
				.name(event.type())
				.data(event.data(), MediaType.APPLICATION_JSON));
		}

		@Override
		public void comment(String text) throws IOException {
			this.emitter.send(SseEmitter.event().comment(text));
		}

		@Override
		public void close() {
			this.emitter.complete();
		}

	}

}
