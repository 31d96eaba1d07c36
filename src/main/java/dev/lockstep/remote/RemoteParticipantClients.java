package dev.lockstep.remote;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.boot.ssl.SslBundles;
import org.springframework.util.Assert;

import dev.lockstep.https.ClientTls;

/**
 * The HTTP clients of the remote participants: one per SSL bundle, so that participants
 * that share a bundle share a connection pool. A participant's own {@code ssl-bundle}
 * wins over {@code lockstep.participants.ssl-bundle}; with neither, the JDK's default
 * trust store verifies {@code https://} participants.
 */
final class RemoteParticipantClients {

	private final JsonMapper jsonMapper;

	private final RemoteParticipantProperties properties;

	private final @Nullable SslBundles sslBundles;

	private final Map<String, RemoteParticipantClient> byBundle = new HashMap<>();

	private @Nullable RemoteParticipantClient systemDefault;

	RemoteParticipantClients(JsonMapper jsonMapper, RemoteParticipantProperties properties,
			@Nullable SslBundles sslBundles) {
		this.jsonMapper = jsonMapper;
		this.properties = properties;
		this.sslBundles = sslBundles;
	}

	/**
	 * Returns the client for one participant.
	 * @param remote the participant
	 * @param entry its setting, such as {@code lockstep.participants.remote[0]}
	 * @return the client
	 * @throws IllegalStateException if the participant's bundle is not defined
	 */
	synchronized RemoteParticipantClient client(RemoteParticipantProperties.Remote remote, String entry) {
		String own = remote.sslBundle();
		String shared = this.properties.sslBundle();
		if (!remote.https() || (own == null && shared == null)) {
			RemoteParticipantClient client = this.systemDefault;
			if (client == null) {
				client = newClient(ClientTls.systemDefault());
				this.systemDefault = client;
			}
			return client;
		}
		String bundle = (own != null) ? own : shared;
		Assert.state(bundle != null, "one of the two is set");
		String property = (own != null) ? entry + ".ssl-bundle" : "lockstep.participants.ssl-bundle";
		RemoteParticipantClient client = this.byBundle.get(bundle);
		if (client == null) {
			SslBundles bundles = this.sslBundles;
			if (bundles == null) {
				throw new IllegalStateException(property + " names the SSL bundle '" + bundle
						+ "', but no SSL bundles are configured: define it under spring.ssl.bundle.pem." + bundle);
			}
			client = newClient(ClientTls.fromBundle(bundles, bundle, property));
			this.byBundle.put(bundle, client);
		}
		return client;
	}

	private RemoteParticipantClient newClient(ClientTls tls) {
		Duration connectTimeout = this.properties.connectTimeout();
		return new RemoteParticipantClient(this.jsonMapper, connectTimeout, tls);
	}

}
