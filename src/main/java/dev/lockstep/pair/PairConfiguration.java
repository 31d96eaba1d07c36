package dev.lockstep.pair;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;

import dev.lockstep.replication.CoordinatorProperties;
import dev.lockstep.replication.FailoverGuard;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.security.SecurityProperties;
import tools.jackson.databind.json.JsonMapper;

import dev.lockstep.https.ClientTls;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.Assert;

/**
 * Registers the failover check against the peer when {@code lockstep.pair.peer-api} is
 * set. Without it the coordinator has no guard, and a failover goes ahead as it always
 * did. Also registers the pair operations, which without a peer refuse every call with
 * what to configure.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({ PairProperties.class, SecurityProperties.class })
class PairConfiguration {

	@Bean
	@ConditionalOnProperty("lockstep.pair.peer-api")
	FailoverGuard peerFailoverGuard(PairProperties pair, SecurityProperties security, JsonMapper jsonMapper,
			ObjectProvider<SslBundles> sslBundles) {
		URI peerApi = pair.peerApi();
		Assert.state(peerApi != null, "lockstep.pair.peer-api is set");
		return new PeerFailoverGuard(peerApi, new PeerToken(pair, security), pair.peerTimeout(), jsonMapper,
				peerTls(pair, sslBundles));
	}

	/**
	 * The trust material and client certificate the peer's API is called with: the bundle
	 * named by {@code lockstep.pair.peer-ssl-bundle}, else the JDK's defaults.
	 */
	static ClientTls peerTls(PairProperties pair, ObjectProvider<SslBundles> sslBundles) {
		String bundle = pair.peerSslBundle();
		if (bundle == null) {
			return ClientTls.systemDefault();
		}
		SslBundles bundles = sslBundles.getIfAvailable();
		if (bundles == null) {
			throw new IllegalStateException("lockstep.pair.peer-ssl-bundle names the SSL bundle '" + bundle
					+ "', but no SSL bundles are configured: define it under spring.ssl.bundle.pem." + bundle);
		}
		return ClientTls.fromBundle(bundles, bundle, "lockstep.pair.peer-ssl-bundle");
	}

	/**
	 * How long a pair operation waits for one lifecycle call of the peer: a start may
	 * synchronise disks for as long as the participants' own deadlines allow (the block
	 * participant's is 30 minutes by default).
	 */
	private static final Duration PEER_OPERATION_TIMEOUT = Duration.ofHours(1);

	@Bean
	PairOperations pairOperations(ReplicationCoordinator coordinator, CoordinatorProperties coordinatorProperties,
			PairProperties pair, SecurityProperties security, JsonMapper jsonMapper,
			ObjectProvider<SslBundles> sslBundles) {
		URI peerApi = pair.peerApi();
		PeerApi api = (peerApi != null) ? new PeerApi(peerApi, new PeerToken(pair, security), pair.peerTimeout(),
				PEER_OPERATION_TIMEOUT, peerTls(pair, sslBundles)) : null;
		return new PairOperations(new LocalMember(coordinator, jsonMapper, pair.maxPause()), api,
				(api != null) ? new PeerMember(api, jsonMapper) : null, jsonMapper, coordinatorProperties.history(),
				Clock.systemUTC());
	}

}
