// One line of what apply/show/destroy did or would do: "+ link edge/v-net-0 (bridge)".
package io.nsgate.control.topology;

/**
 * @param op   what happens: {@code +} create, {@code ~} modify, {@code -} remove, {@code !} left alone (a note)
 * @param kind netns, sysctl, link, addr, route
 * @param text the subject and details, e.g. {@code lan/lan0 192.168.1.3/24 (was 10.0.0.1/24)}
 */
public record Change(Op op, String kind, String text) {

    /** The four kinds of line. */
    public enum Op {
        ADD('+'), MODIFY('~'), REMOVE('-'), NOTE('!');

        private final char symbol;

        Op(char symbol) {
            this.symbol = symbol;
        }
    }

    @Override
    public String toString() {
        return op.symbol + " " + kind + " " + text;
    }
}
