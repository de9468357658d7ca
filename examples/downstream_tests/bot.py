"""The downstream project's bot: quotes one symbol one tick inside the best bid and ask with post-only
(alo) orders, and reports what happened to it (fills, funding, liquidation) from the exchange's answers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from standx_client import StandX


@dataclass
class Quote:
    bid: Decimal
    ask: Decimal
    bid_id: str
    ask_id: str


class QuotingBot:
    def __init__(self, client: StandX, symbol: str, size: Decimal) -> None:
        self.client = client
        self.symbol = symbol
        self.size = size
        (info,) = client.query_symbol_info(symbol=symbol)
        self.tick = Decimal(1).scaleb(-info.price_tick_decimals)

    def quote(self) -> Quote:
        """Cancel the bot's resting orders, then bid and offer one tick inside the current book."""
        mine = [o.cl_ord_id for o in self.client.query_open_orders(symbol=self.symbol).result]
        if mine:
            self.client.cancel_orders(cl_ord_id_list=mine)
        book = self.client.query_depth_book(symbol=self.symbol)
        best_bid = max(Decimal(level[0]) for level in book.bids)
        best_ask = min(Decimal(level[0]) for level in book.asks)
        bid, ask = best_bid + self.tick, best_ask - self.tick
        if bid >= ask:  # a one-tick book: join it instead
            bid, ask = best_bid, best_ask
        placed = [
            self.client.new_order(
                symbol=self.symbol,
                side=side,
                order_type="limit",
                qty=self.size,
                price=price,
                time_in_force="alo",
                reduce_only=False,
            )
            for side, price in (("buy", bid), ("sell", ask))
        ]
        return Quote(bid, ask, placed[0].cl_ord_id, placed[1].cl_ord_id)

    def position(self) -> Decimal:
        return sum((p.qty for p in self.client.query_positions(symbol=self.symbol)), Decimal(0))

    def funding_received(self) -> Decimal:
        """Funding paid (negative) and received (positive) so far."""
        return sum((f.qty for f in self.client.query_funding_history(symbol=self.symbol)), Decimal(0))

    def was_liquidated(self) -> bool:
        return any(o.source == "liquidation" for o in self.client.query_orders(symbol=self.symbol).result)
