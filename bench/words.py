"""Words for generated tickets: Swedish and English helpdesk vocabulary, so search has hits."""

WORDS = (
    "skrivare faktura lösenord inloggning nätverk server e-post kund leverans beställning "
    "problem fel krasch uppdatering licens konto behörighet telefon mobil app webbplats "
    "betalning moms kvitto avtal offert support ärende dator skärm tangentbord mus vpn "
    "printer invoice password login network email customer delivery order error crash "
    "update license account access phone mobile website payment receipt contract quote "
    "laptop screen keyboard mouse backup database report export import calendar meeting "
    "slow broken missing wrong urgent question request refund cancel upgrade install "
    "fungerar inte saknas långsam trasig fråga begäran återbetalning avboka installera "
    "kontor lager butik kassa frakt paket retur garanti reparation byte service"
).split()
