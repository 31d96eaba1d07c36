package dev.lockstep.pair;

import java.net.URI;

import dev.lockstep.replication.FailoverGuard;
import dev.lockstep.security.SecurityProperties;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.Assert;

/**
 * Registers the failover check against the peer when {@code lockstep.pair.peer-api} is
 * set. Without it the coordinator has no guard, and a failover goes ahead as it always
 * did.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({ PairProperties.class, SecurityProperties.class })
class PairConfiguration {

	@Bean
	@ConditionalOnProperty("lockstep.pair.peer-api")
	FailoverGuard peerFailoverGuard(PairProperties pair, SecurityProperties security, JsonMapper jsonMapper) {
		URI peerApi = pair.peerApi();
		Assert.state(peerApi != null, "lockstep.pair.peer-api is set");
		return new PeerFailoverGuard(peerApi, new PeerToken(pair, security), pair.peerTimeout(), jsonMapper);
	}

}
