package dev.lockstep.remote;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.StringUtils;

/**
 * Configuration of remote participants, under {@code lockstep.participants}. Every entry
 * is checked when the service starts; a bad entry stops start-up with a message that
 * names it, such as {@code lockstep.participants.remote[1].url}.
 *
 * @param remote the remote participants, each registered at start-up
 * @param connectTimeout how long to wait for a TCP connection to a remote participant
 * @param errorPollInterval how often each remote participant's {@code /error} is polled
 * in the background
 * @param errorPollTimeout the deadline of each {@code /error} poll
 * @param sslBundle the Spring Boot SSL bundle ({@code spring.ssl.bundle.*}) that every
 * {@code https://} remote participant is called with, unless its own {@code ssl-bundle}
 * names another: its trust material verifies the participant's certificate, and its key,
 * if it has one, is presented as a client certificate. Not set: the JDK's default trust
 * store and no client certificate
 */
@ConfigurationProperties("lockstep.participants")
public record RemoteParticipantProperties(@DefaultValue List<Remote> remote,
		@DefaultValue("2s") Duration connectTimeout, @DefaultValue("1s") Duration errorPollInterval,
		@DefaultValue("2s") Duration errorPollTimeout, @Nullable String sslBundle) {

	private static final String PREFIX = "lockstep.participants";

	public RemoteParticipantProperties {
		remote = (remote != null) ? List.copyOf(remote) : List.of();
		sslBundle = StringUtils.hasText(sslBundle) ? sslBundle.strip() : null;
		requirePositive(connectTimeout, PREFIX + ".connect-timeout");
		requirePositive(errorPollInterval, PREFIX + ".error-poll-interval");
		requirePositive(errorPollTimeout, PREFIX + ".error-poll-timeout");
		Map<String, Integer> names = new HashMap<>();
		for (int i = 0; i < remote.size(); i++) {
			String entry = PREFIX + ".remote[" + i + "]";
			Remote participant = remote.get(i);
			if (participant == null) {
				throw new IllegalArgumentException(entry + " is empty: it needs at least a name and a url");
			}
			participant.validate(entry);
			Integer previous = names.putIfAbsent(participant.name(), i);
			if (previous != null) {
				throw new IllegalArgumentException(entry + ".name '" + participant.name() + "' is already used by "
						+ PREFIX + ".remote[" + previous + "]; participant names must be unique");
			}
		}
	}

	private static void requirePositive(Duration duration, String name) {
		if (duration == null || duration.isNegative() || duration.isZero()) {
			throw new IllegalArgumentException(name + " must be a positive duration, but was " + duration);
		}
	}

	/**
	 * One remote participant.
	 *
	 * @param name the participant's unique name
	 * @param url the base URL; the protocol's paths ({@code /start}, {@code /checkpoint},
	 * {@code /error}, {@code /stop}) are appended to it
	 * @param order its position: lower values start first and stop last
	 * @param timeout the deadline of each lifecycle call; the coordinator's
	 * {@code lockstep.coordinator.call-timeout} if not set
	 * @param phases whether the participant implements the phases of a checkpoint with
	 * the workload paused, and so receives {@code POST {url}/pause} and {@code POST
	 * {url}/resume}; without it the phases do nothing for this participant
	 * @param sslBundle the SSL bundle this {@code https://} participant is called with,
	 * in place of {@code lockstep.participants.ssl-bundle}
	 */
	public record Remote(@Nullable String name, @Nullable URI url, @DefaultValue("0") int order,
			@Nullable Duration timeout, @DefaultValue("false") boolean phases, @Nullable String sslBundle) {

		public Remote {
			name = (name != null) ? name.trim() : null;
			sslBundle = StringUtils.hasText(sslBundle) ? sslBundle.strip() : null;
		}

		/**
		 * Returns whether this participant is called over HTTPS.
		 * @return whether its URL is {@code https://}
		 */
		boolean https() {
			return this.url != null && "https".equalsIgnoreCase(this.url.getScheme());
		}

		void validate(String entry) {
			if (!StringUtils.hasText(this.name)) {
				throw new IllegalArgumentException(entry + ".name must be set to a non-blank, unique name");
			}
			if (this.url == null) {
				throw new IllegalArgumentException(entry + ".url must be set: the base URL of participant '" + this.name
						+ "', such as http://127.0.0.1:9100/replication");
			}
			String scheme = (this.url.getScheme() != null) ? this.url.getScheme().toLowerCase(Locale.ROOT) : null;
			if ((!"http".equals(scheme) && !"https".equals(scheme)) || this.url.isOpaque()) {
				throw new IllegalArgumentException(
						entry + ".url must be an http:// or https:// URL, but was '" + this.url + "'");
			}
			if (!StringUtils.hasText(this.url.getHost())) {
				throw new IllegalArgumentException(
						entry + ".url must name a host, such as http://127.0.0.1:9100/replication, but was '" + this.url
								+ "'");
			}
			if (this.url.getRawQuery() != null || this.url.getRawFragment() != null) {
				throw new IllegalArgumentException(entry + ".url must not have a query or a fragment, because "
						+ "/start, /checkpoint, /error and /stop are appended to it, but was '" + this.url + "'");
			}
			if (this.sslBundle != null && !https()) {
				throw new IllegalArgumentException(entry + ".ssl-bundle is set to '" + this.sslBundle
						+ "', but the participant's url is not https://: use https://" + this.url.getRawAuthority()
						+ ((this.url.getRawPath() != null) ? this.url.getRawPath() : "") + " or remove the bundle");
			}
			if (this.timeout != null && (this.timeout.isNegative() || this.timeout.isZero())) {
				throw new IllegalArgumentException(
						entry + ".timeout must be a positive duration, but was " + this.timeout);
			}
		}

	}

}
