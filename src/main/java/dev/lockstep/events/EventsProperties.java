package dev.lockstep.events;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.Assert;

/**
 * Configuration of the event stream, under {@code lockstep.events}.
 *
 * @param keepAlive how long a client's stream may stay silent before it gets a comment,
 * so that proxies do not close it
 * @param replay how many of the last events are kept for clients that resume with
 * {@code Last-Event-ID}
 * @param clientBuffer how many events may wait for one client; a client that falls
 * further behind is dropped
 * @param pollInterval how often the error sweep and the disks' progress are looked at
 * @param peerInterval how often the peer's API is asked for its status, when
 * {@code lockstep.pair.peer-api} is set, for {@code peer} events
 */
@ConfigurationProperties("lockstep.events")
public record EventsProperties(@DefaultValue("15s") Duration keepAlive, @DefaultValue("1000") int replay,
		@DefaultValue("256") int clientBuffer, @DefaultValue("1s") Duration pollInterval,
		@DefaultValue("2s") Duration peerInterval) {

	public EventsProperties {
		Assert.isTrue(keepAlive != null && keepAlive.toMillis() > 0, "lockstep.events.keep-alive must be positive");
		Assert.isTrue(replay >= 1, "lockstep.events.replay must be at least 1");
		Assert.isTrue(clientBuffer >= 1, "lockstep.events.client-buffer must be at least 1");
		Assert.isTrue(pollInterval != null && pollInterval.toMillis() > 0,
				"lockstep.events.poll-interval must be positive");
		Assert.isTrue(peerInterval != null && peerInterval.toMillis() > 0,
				"lockstep.events.peer-interval must be positive");
	}

}
