package dev.lockstep.pair;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.StringUtils;

/**
 * Configuration of the pair, under {@code lockstep.pair}. Checked when the service
 * starts; a bad value stops start-up with a message that names it.
 *
 * @param peerApi the base URL of the peer's API, such as {@code http://10.0.0.2:8080};
 * when set, a failover of this node as secondary first asks the peer whether it still
 * runs as primary. Not set: no check
 * @param peerToken the API token to present to the peer; when not set, this node's own
 * token ({@code lockstep.security.api-token}, else the token file)
 * @param peerTimeout how long the check waits for the peer's answer, all told; a peer
 * that has not answered by then counts as gone
 * @param maxPause how long the workload may stay paused around a checkpoint: the pause of
 * every participant together must fit in it, else the pause fails and the workload
 * resumes; a workload still paused this long after its pause started is resumed by the
 * coordinator itself
 * @param peerSslBundle the Spring Boot SSL bundle ({@code spring.ssl.bundle.*}) an
 * {@code https://} peer API is called with: its trust material verifies the peer's
 * certificate and host name, and its key, if it has one, is presented as a client
 * certificate. Not set: the JDK's default trust store and no client certificate
 */
@ConfigurationProperties("lockstep.pair")
public record PairProperties(@Nullable URI peerApi, @Nullable String peerToken,
		@DefaultValue("2s") Duration peerTimeout, @DefaultValue("2s") Duration maxPause,
		@Nullable String peerSslBundle) {

	private static final String PREFIX = "lockstep.pair";

	public PairProperties {
		peerToken = StringUtils.hasText(peerToken) ? peerToken.strip() : null;
		peerSslBundle = StringUtils.hasText(peerSslBundle) ? peerSslBundle.strip() : null;
		if (peerTimeout == null || peerTimeout.isNegative() || peerTimeout.isZero()) {
			throw new IllegalArgumentException(
					PREFIX + ".peer-timeout must be a positive duration, but was " + peerTimeout);
		}
		if (maxPause == null || maxPause.isNegative() || maxPause.isZero()) {
			throw new IllegalArgumentException(PREFIX + ".max-pause must be a positive duration, but was " + maxPause);
		}
		if (peerApi != null) {
			validate(peerApi);
		}
		if (peerSslBundle != null && (peerApi == null || !"https".equalsIgnoreCase(peerApi.getScheme()))) {
			throw new IllegalArgumentException(
					PREFIX + ".peer-ssl-bundle is set to '" + peerSslBundle + "', but " + PREFIX + ".peer-api is "
							+ ((peerApi != null) ? "'" + peerApi + "', not an https:// URL" : "not set")
							+ ": set an https:// peer API or remove the bundle");
		}
	}

	private static void validate(URI url) {
		String name = PREFIX + ".peer-api";
		String scheme = (url.getScheme() != null) ? url.getScheme().toLowerCase(Locale.ROOT) : null;
		if ((!"http".equals(scheme) && !"https".equals(scheme)) || url.isOpaque()) {
			throw new IllegalArgumentException(name + " must be an http:// or https:// URL, such as "
					+ "http://10.0.0.2:8080, but was '" + url + "'");
		}
		if (!StringUtils.hasText(url.getHost())) {
			throw new IllegalArgumentException(
					name + " must name a host, such as http://10.0.0.2:8080, but was '" + url + "'");
		}
		if (url.getRawQuery() != null || url.getRawFragment() != null) {
			throw new IllegalArgumentException(name + " must not have a query or a fragment, because "
					+ "/api/v1/replication is appended to it, but was '" + url + "'");
		}
	}

}
